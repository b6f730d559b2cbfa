# shellcheck shell=bash
# Installs what building and testing callscope needs; every step is skipped when already
# satisfied and prints one line. Use either way:
#
#   source scripts/setup.sh   # installs, and exports PATH / CARGO_TARGET_DIR to the caller
#   bash scripts/setup.sh     # installs only
#
# Environment:
#   CALLSCOPE_TOOLS          tools folder (npm binaryen,   default $HOME/.cache/callscope-tools
#                            axe-core)
#   CARGO_TARGET_DIR         cargo's target dir            default $HOME/.cache/callscope-target
#   CALLSCOPE_SETUP_BROWSER  0 skips Chromium/chromedriver (not needed to run the server)
#   CALLSCOPE_SETUP_OTLP     0 skips the OpenTelemetry Python SDK (only the tests use it)
#   CALLSCOPE_OTLP_VENV      venv with the OpenTelemetry  default $HOME/.cache/callscope-otlp-venv
#                            Python SDK (tests/otlp/)
#   CALLSCOPE_SETUP_SCHEMATHESIS  0 skips schemathesis (only the fuzz step uses it)
#   CALLSCOPE_SCHEMATHESIS_VENV   venv with schemathesis default $HOME/.cache/callscope-schemathesis-venv
#                                 (tests/schemathesis/)
#
# Pins (see /work/shared/TOOLCHAIN.md): trunk 0.21.14; wasm-bindgen-cli == the wasm-bindgen
# in Cargo.lock; wasm-opt from npm binaryen@132.0.0 (Debian's binaryen 108 breaks the wasm:
# our tools folder goes first on PATH and Trunk.toml pins wasm_opt = "version_132");
# axe-core 4.14.1 from npm, which the browser tests inject to check accessibility;
# the OpenTelemetry Python SDK and OTLP/HTTP exporter pinned in tests/otlp/requirements.txt
# (PyPI), in a venv outside the clone, for the tests that send traces as real clients do
# (exports CALLSCOPE_OTLP_PYTHON, the venv's python); schemathesis and its dependencies
# pinned in tests/schemathesis/requirements.txt (PyPI), in another venv outside the clone,
# for the OpenAPI fuzz step (exports CALLSCOPE_SCHEMATHESIS_VENV).

_callscope_setup() {
    local root tools want have
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
    tools="${CALLSCOPE_TOOLS:-$HOME/.cache/callscope-tools}"
    local trunk_version=0.21.14 binaryen_version=132.0.0 axe_version=4.14.1

    _callscope_step() { printf 'setup: %-22s %s\n' "$1" "$2"; }
    # Tools are built without their own LTO and with more codegen units: they do little work
    # themselves, and this halves the build on a fresh 2-core machine (Trunk ~4 min, not ~8).
    _callscope_install() {
        env -u CARGO_TARGET_DIR CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
            CARGO_PROFILE_RELEASE_OPT_LEVEL=1 cargo install --quiet "$@"
    }
    _callscope_fail() { printf 'setup: FAILED: %s\n' "$*" >&2; return 1; }
    # A venv outside the clone with exactly the packages a requirements file pins (PyPI),
    # stamped with the file's checksum so a changed pin reinstalls; skipped when it holds
    # them already. Sets _callscope_venv_dir. Arguments: step name, venv, requirements file
    # (relative to the clone), a Python import that proves the install.
    _callscope_venv() {
        local name="$1" venv="$2" requirements="$root/$3" probe="$4" python stamp
        _callscope_venv_dir="$venv"
        python="$(command -v python3.11 || command -v python3)" \
            || { _callscope_fail "python3 not found (apt-get install -y python3 python3-venv)"; return 1; }
        stamp="$(sha256sum "$requirements" | awk '{print $1}')"
        if [ "$(cat "$venv/.callscope-requirements" 2>/dev/null)" = "$stamp" ] \
            && "$venv/bin/python" -c "$probe" 2>/dev/null; then
            _callscope_step "$name" "ok ($venv)"
            return 0
        fi
        _callscope_step "$name" "installing $3 into $venv"
        if [ -e "$venv" ] && [ ! -f "$venv/pyvenv.cfg" ]; then
            _callscope_fail "$venv exists and is not a venv"; return 1
        fi
        rm -rf "$venv"
        "$python" -m venv "$venv" \
            || { _callscope_fail "$python -m venv $venv (apt-get install -y python3-venv)"; return 1; }
        # Every package is pinned in the file: --no-deps installs exactly those, pip check
        # proves nothing is missing.
        { "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
            -r "$requirements" && "$venv/bin/python" -m pip check >/dev/null; } \
            || { _callscope_fail "pip install -r $3"; return 1; }
        printf '%s\n' "$stamp" > "$venv/.callscope-requirements"
    }

    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/callscope-target}"
    # Cargo names a workspace crate's build the same in every checkout and trusts file times:
    # a target dir last used by another checkout can hold a newer build of older sources,
    # which cargo would call fresh. When the checkout changes, mark this one's sources as new
    # (dependencies stay cached; only the workspace's own crates rebuild).
    mkdir -p "$CARGO_TARGET_DIR"
    if [ "$(cat "$CARGO_TARGET_DIR/.callscope-checkout" 2>/dev/null)" != "$root" ]; then
        (cd "$root" && find shared server frontend tests -name '*.rs' -exec touch {} +)
        printf '%s\n' "$root" > "$CARGO_TARGET_DIR/.callscope-checkout"
    fi
    case ":$PATH:" in *":$HOME/.cargo/bin:"*) ;; *) export PATH="$HOME/.cargo/bin:$PATH" ;; esac
    case ":$PATH:" in
        "$tools/node_modules/.bin:"*) ;;
        *) export PATH="$tools/node_modules/.bin:$PATH" ;;
    esac

    command -v cargo >/dev/null || { _callscope_fail "cargo not found (install rustup)"; return 1; }

    # 1. wasm target (rust-toolchain.toml lists it; this covers a toolchain installed without it)
    if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
        _callscope_step "wasm32 target" "ok"
    else
        _callscope_step "wasm32 target" "installing"
        rustup target add wasm32-unknown-unknown || { _callscope_fail "rustup target add wasm32-unknown-unknown"; return 1; }
    fi

    # 2. trunk
    have="$(trunk --version 2>/dev/null | awk '{print $2}')"
    if [ "$have" = "$trunk_version" ]; then
        _callscope_step "trunk" "ok ($have)"
    else
        _callscope_step "trunk" "installing $trunk_version (have: ${have:-none}; ~4 min)"
        # Own temporary target dir: keep tool builds out of the project's CARGO_TARGET_DIR.
        _callscope_install trunk --locked --version "$trunk_version" \
            || { _callscope_fail "cargo install trunk $trunk_version"; return 1; }
    fi

    # 3. wasm-bindgen CLI: must equal the wasm-bindgen crate in Cargo.lock.
    want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$root/Cargo.lock")"
    [ -n "$want" ] || { _callscope_fail "no wasm-bindgen in $root/Cargo.lock"; return 1; }
    have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')"
    if [ "$have" = "$want" ]; then
        _callscope_step "wasm-bindgen-cli" "ok ($have)"
    else
        _callscope_step "wasm-bindgen-cli" "installing $want (have: ${have:-none}; ~2 min)"
        # No --locked: its lock file pins a crate version this registry lacks.
        _callscope_install wasm-bindgen-cli --version "$want" --force \
            || { _callscope_fail "cargo install wasm-bindgen-cli $want"; return 1; }
        wasm-bindgen-test-runner --version >/dev/null 2>&1 \
            || { _callscope_fail "wasm-bindgen-test-runner missing after install"; return 1; }
    fi

    # 4. wasm-opt from npm's binaryen, first on PATH.
    have="$("$tools/node_modules/.bin/wasm-opt" --version 2>/dev/null | awk '{print $3}')"
    if [ "$have" = "${binaryen_version%%.*}" ]; then
        _callscope_step "wasm-opt (binaryen)" "ok (version $have, $tools)"
    else
        command -v npm >/dev/null || { _callscope_fail "npm not found (apt-get install -y npm)"; return 1; }
        _callscope_step "wasm-opt (binaryen)" "installing binaryen@$binaryen_version into $tools"
        mkdir -p "$tools" || { _callscope_fail "mkdir $tools"; return 1; }
        npm install --prefix "$tools" --no-audit --no-fund --silent \
            "binaryen@$binaryen_version" \
            || { _callscope_fail "npm install binaryen@$binaryen_version"; return 1; }
    fi
    have="$(command -v wasm-opt)"
    [ "$have" = "$tools/node_modules/.bin/wasm-opt" ] \
        || { _callscope_fail "wasm-opt on PATH is $have, not $tools/node_modules/.bin/wasm-opt"; return 1; }

    # 5. Chromium + chromedriver for the browser tests.
    if [ "${CALLSCOPE_SETUP_BROWSER:-1}" = 0 ]; then
        _callscope_step "chromium" "skipped (CALLSCOPE_SETUP_BROWSER=0)"
    elif [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
        _callscope_step "chromium" "ok"
    else
        _callscope_step "chromium" "installing chromium chromium-driver (apt)"
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            $sudo apt-get install -y -qq chromium chromium-driver >/dev/null; } \
            || { _callscope_fail "apt-get install chromium chromium-driver"; return 1; }
    fi
    export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"

    # 6. axe-core, the accessibility engine the browser tests run in the page.
    if [ "${CALLSCOPE_SETUP_BROWSER:-1}" != 0 ]; then
        have="$(sed -nE 's/^ *"version": "([^"]+)".*/\1/p' "$tools/node_modules/axe-core/package.json" 2>/dev/null | head -1)"
        if [ "$have" = "$axe_version" ]; then
            _callscope_step "axe-core" "ok ($have)"
        else
            _callscope_step "axe-core" "installing axe-core@$axe_version into $tools"
            npm install --prefix "$tools" --no-audit --no-fund --silent "axe-core@$axe_version" \
                || { _callscope_fail "npm install axe-core@$axe_version"; return 1; }
        fi
        export CALLSCOPE_AXE="$tools/node_modules/axe-core/axe.min.js"
    fi
    # 7. The OpenTelemetry Python SDK for tests/otlp/ (server/tests/it/otlp_clients.rs).
    if [ "${CALLSCOPE_SETUP_OTLP:-1}" = 0 ]; then
        _callscope_step "opentelemetry (python)" "skipped (CALLSCOPE_SETUP_OTLP=0)"
    else
        _callscope_venv "opentelemetry (python)" \
            "${CALLSCOPE_OTLP_VENV:-$HOME/.cache/callscope-otlp-venv}" tests/otlp/requirements.txt \
            'import opentelemetry.exporter.otlp.proto.http.trace_exporter' || return 1
        export CALLSCOPE_OTLP_PYTHON="$_callscope_venv_dir/bin/python"
    fi
    # 8. schemathesis for tests/schemathesis/run.sh (the OpenAPI fuzz step of test.sh).
    if [ "${CALLSCOPE_SETUP_SCHEMATHESIS:-1}" = 0 ]; then
        _callscope_step "schemathesis (python)" "skipped (CALLSCOPE_SETUP_SCHEMATHESIS=0)"
    else
        _callscope_venv "schemathesis (python)" \
            "${CALLSCOPE_SCHEMATHESIS_VENV:-$HOME/.cache/callscope-schemathesis-venv}" \
            tests/schemathesis/requirements.txt 'import schemathesis' || return 1
        export CALLSCOPE_SCHEMATHESIS_VENV="$_callscope_venv_dir"
    fi
    return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    # Executed: fail loudly with a non-zero status.
    set -u
    _callscope_setup || exit 1
else
    # Sourced: leave the caller's shell options alone; return the status.
    _callscope_setup || return 1
fi
