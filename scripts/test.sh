#!/usr/bin/env bash
# Every check CI runs, in order: tools, services, formatting, lints (native and wasm),
# the viewer build, native tests (SQLite, PostgreSQL, Redis, end-to-end in headless
# Chromium), the OpenAPI fuzz (schemathesis) and the viewer's wasm tests in headless
# Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "tools"
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
step "services"
bash scripts/services.sh

step "fetch crates"
cargo fetch --locked

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (native)"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "clippy (wasm32)"
cargo clippy -p callscope-viewer --target wasm32-unknown-unknown --all-targets --locked -- -D warnings
# shared's own tests use proptest, which is native-only; its library must build for wasm.
cargo clippy -p callscope-shared --target wasm32-unknown-unknown --locked -- -D warnings

step "viewer build (trunk, release, offline)"
trunk build --release --offline

step "server binary for the end-to-end tests; the viewer pre-compressed"
cargo build -p callscope-server --locked
"$CARGO_TARGET_DIR/debug/callscope" precompress dist

step "native tests (SQLite, PostgreSQL, Redis, headless Chromium)"
cargo test --workspace --locked

step "OpenAPI fuzz: schemathesis against a live server (SQLite, PostgreSQL)"
bash tests/schemathesis/run.sh

step "viewer wasm tests (headless Chromium)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p callscope-viewer --target wasm32-unknown-unknown --locked

step "all checks passed"
