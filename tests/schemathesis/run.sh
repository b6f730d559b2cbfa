#!/usr/bin/env bash
# Fuzzes a live callscope server against its own OpenAPI document (`GET /openapi.json`)
# with schemathesis: every operation, with auth, positive and negative data, stateful
# links, and every check in schemathesis.toml. Once on SQLite, once on PostgreSQL (a fresh
# database, dropped afterwards). Any finding fails the run.
#
# The fuzzed server sends nothing off this machine: it listens on 127.0.0.1, runs no
# webhook dispatcher (--webhook-concurrency 0) and resolves no endpoint's host name
# (--webhook-allow-private), controls live calls with the built-in
# simulated provider (no Telnyx API key; the Telnyx URL points at 127.0.0.1 anyway), and
# its demo data and `simulate`'s live calls stay on loopback.
#
# Environment:
#   CALLSCOPE_BIN                  the server binary   default $CARGO_TARGET_DIR/debug/callscope
#   CALLSCOPE_SCHEMATHESIS_VENV    schemathesis's venv default $HOME/.cache/callscope-schemathesis-venv
#   CALLSCOPE_FUZZ_BACKENDS        "sqlite postgres" (default), or one of them
#   CALLSCOPE_FUZZ_EXAMPLES        examples per operation and phase (default 20)
#   CALLSCOPE_FUZZ_SEED            schemathesis's seed (default: 717710255 under CI, else
#                                  random; printed)
#   CALLSCOPE_TEST_PG_URL          PostgreSQL to create the database on
#                                  (default postgres://postgres@127.0.0.1:5432/test)
# Without the binary or schemathesis it says what is missing and exits 0, or 1 when CI is
# set (CI must run it).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/tests/schemathesis"

bin=${CALLSCOPE_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/callscope}
venv=${CALLSCOPE_SCHEMATHESIS_VENV:-$HOME/.cache/callscope-schemathesis-venv}
backends=${CALLSCOPE_FUZZ_BACKENDS:-sqlite postgres}
examples=${CALLSCOPE_FUZZ_EXAMPLES:-20}
# CI runs one fixed seed (a run that lands stays green when nothing changed); elsewhere
# every run explores anew.
if [ -n "${CI:-}" ]; then default_seed=717710255; else default_seed=$(( (RANDOM << 15) | RANDOM )); fi
seed=${CALLSCOPE_FUZZ_SEED:-$default_seed}
pg_url=${CALLSCOPE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}

missing() {
    if [ -n "${CI:-}" ]; then
        echo "schemathesis: $1 (CI must run the fuzz step)" >&2
        exit 1
    fi
    echo "schemathesis: skipped: $1"
    exit 0
}
[ -x "$bin" ] || missing "no server binary at $bin (cargo build -p callscope-server)"
[ -x "$venv/bin/schemathesis" ] || missing "no schemathesis in $venv (source scripts/setup.sh)"
python="$venv/bin/python"

work=$(mktemp -d "${TMPDIR:-/tmp}/callscope-fuzz.XXXXXX")
server_pid=""
simulate_pid=""
pg_db=""
cleanup() {
    [ -n "$simulate_pid" ] && kill "$simulate_pid" 2>/dev/null && wait "$simulate_pid" 2>/dev/null
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    simulate_pid="" server_pid=""
    if [ -n "$pg_db" ]; then
        psql -q "$pg_url" -c "DROP DATABASE IF EXISTS \"$pg_db\" WITH (FORCE)" >/dev/null || true
        pg_db=""
    fi
}
trap 'cleanup; rm -rf "$work"' EXIT

# A JSON field of one object read from stdin.
field() { "$python" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# The server's settings for every backend: loopback only, nothing delivered or dialled out.
pipeline_token=$("$python" -c 'import secrets; print(secrets.token_urlsafe(24))')
link_key=$("$python" -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())')
export CALLSCOPE_LINK_KEY="$link_key"
export CALLSCOPE_PIPELINE_TOKEN="$pipeline_token"
export CALLSCOPE_TELEPHONY=simulated
# A key no one sends with (its private half is dropped): Telnyx's webhook route checks
# signatures and refuses every fuzzed request as unsigned or forged.
telnyx_key=$(openssl genpkey -algorithm ed25519 | openssl pkey -pubout -outform DER | tail -c 32 | base64) \
    || { echo "schemathesis: openssl could not make an Ed25519 key" >&2; exit 1; }
export CALLSCOPE_TELNYX_PUBLIC_KEY="$telnyx_key"
export CALLSCOPE_TELNYX_API_URL=http://127.0.0.1:9/v2
export RUST_LOG=${RUST_LOG:-warn}

# Runs one backend: fresh database, demo data, the server, live calls, schemathesis.
fuzz() {
    local backend=$1 db_url
    case "$backend" in
        sqlite) db_url="sqlite://$work/sqlite/callscope.db" ;;
        postgres)
            pg_db="callscope_fuzz_$$_$RANDOM"
            psql -q "$pg_url" -c "CREATE DATABASE \"$pg_db\"" >/dev/null
            db_url="${pg_url%/*}/$pg_db"
            ;;
        *) echo "schemathesis: unknown backend $backend" >&2; return 1 ;;
    esac
    echo "==> schemathesis on $backend (seed $seed, $examples examples per operation)"
    local demo api_key
    demo=$("$bin" --database-url "$db_url" demo --calls 40 --days 3 --seed 7 --json)
    api_key=$(field api_key <<<"$demo")

    # --webhook-allow-private: endpoint URLs are not resolved at creation (no DNS queries
    # for the fuzzer's host names); --webhook-concurrency 0: nothing is ever delivered;
    # --recordings-dir on PostgreSQL: a recordings store (SQLite has one beside the database,
    # with the demo's audio; without one, PostgreSQL's recording links are the operator's 503).
    local recordings=()
    [ "$backend" = postgres ] && recordings=(--recordings-dir "$work/postgres-recordings")
    local log="$work/$backend-server.log"
    "$bin" --database-url "$db_url" serve --bind 127.0.0.1:0 --dist "$root/dist" \
        --webhook-concurrency 0 --webhook-allow-private \
        "${recordings[@]}" \
        --debug-miss-limit 0 --recording-retention-interval 0 \
        >"$work/$backend-server.out" 2>"$log" &
    server_pid=$!
    local base="" _
    for _ in $(seq 1 300); do
        base=$(sed -n 's/^callscope listening on //p' "$work/$backend-server.out")
        [ -n "$base" ] && break
        kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; echo "schemathesis: the server did not start" >&2; return 1; }
        sleep 0.1
    done
    [ -n "$base" ] || { echo "schemathesis: the server did not listen in 30 s" >&2; return 1; }
    case "$base" in http://127.0.0.1:*) ;; *) echo "schemathesis: not on loopback: $base" >&2; return 1 ;; esac

    # Live calls through the pipeline API, so the control operations meet calls in progress.
    "$bin" --database-url "$db_url" simulate --base-url "$base" --calls 2 --forever \
        --speed 4 --hold 3600 >/dev/null 2>>"$log" &
    simulate_pid=$!

    local status=0
    # From the scratch folder: schemathesis keeps its cache (.schemathesis/) in the working
    # directory, which must not be the clone.
    (cd "$work" && CALLSCOPE_FUZZ_API_KEY="$api_key" CALLSCOPE_FUZZ_PIPELINE_TOKEN="$pipeline_token" \
        "$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" --no-color \
        run "$base/openapi.json" --url "$base" --seed "$seed" --max-examples "$examples" \
        --report junit --report-dir "$work/report-$backend") || status=$?
    if [ "$status" != 0 ]; then
        echo "schemathesis: findings on $backend (the server's log: $log)" >&2
        tail -n 40 "$log" >&2
    fi
    cleanup
    return "$status"
}

failed=0
for backend in $backends; do
    fuzz "$backend" || failed=1
done
if [ "$failed" = 0 ]; then
    echo "schemathesis: no findings ($backends)"
fi
exit "$failed"
