#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time, one after another (not in CI;
# on loopback only: no target opens a socket). Findings land in fuzz/artifacts/<target>/
# and the command fails; the corpus grows in fuzz/corpus/<target>/ (both ignored by git).
#
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_ONLY      one target's name (default: all; `cargo fuzz list` in fuzz/ names them)
#
# cargo-fuzz passes rustc flags that only nightly accepts (sanitizers, coverage passes);
# this machine's one toolchain is stable, so RUSTC_BOOTSTRAP=1 lets it accept them, for
# these fuzz builds only (their own target dir, fuzz/target; nothing shipped is built so).
set -euo pipefail
cd "$(dirname "$0")/.."
CALLSCOPE_SETUP_BROWSER=0 CALLSCOPE_SETUP_OTLP=0 CALLSCOPE_SETUP_SCHEMATHESIS=0 source scripts/setup.sh >/dev/null
unset CARGO_TARGET_DIR

cargo_fuzz_version=0.13.2
if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$cargo_fuzz_version" ]; then
  echo "==> installing cargo-fuzz $cargo_fuzz_version"
  cargo install --quiet --locked cargo-fuzz --version "$cargo_fuzz_version"
fi
# The same versions as the server's build (the fuzz workspace adds libfuzzer-sys only).
[ -f fuzz/Cargo.lock ] || cp Cargo.lock fuzz/Cargo.lock

export RUSTC_BOOTSTRAP=1
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_ONLY:-$(cd fuzz && cargo fuzz list)}
status=0
for target in $targets; do
  echo "==> fuzz $target for ${seconds}s"
  mkdir -p "fuzz/corpus/$target"
  if ! (cd fuzz && cargo fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
          -max_len=65536 -print_final_stats=1 2>&1 | grep -E '^(#[0-9]+ +DONE|==|SUMMARY|thread|stat::number_of_executed_units|Done)' ); then
    status=1
  fi
  if [ -n "$(ls -A "fuzz/artifacts/$target" 2>/dev/null)" ]; then
    echo "!! $target found: $(ls "fuzz/artifacts/$target")"
    status=1
  fi
done
exit $status
