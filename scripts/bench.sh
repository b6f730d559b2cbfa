#!/usr/bin/env bash
# Benchmarks behind BENCHMARKS.md (not part of CI; takes a while on 2 cores):
#  1. fills 1,000,000 demo calls over 365 days into SQLite and PostgreSQL, once (cached
#     under ~/.cache/callscope-bench; PostgreSQL database `callscope_bench`);
#  2. runs the criterion bench of the Calls read API's queries on each backend;
#  3. load-tests the public debug endpoint (an ended call, a live one, a live one being
#     appended to) next to /healthz with wrk, on loopback, on SQLite and PostgreSQL;
#  4. times the viewer's first meaningful paint in headless Chromium (40 and 5,000 turns);
#  5. drives the pipeline API (64 live calls appending turns, then signed Telnyx hangups) on
#     SQLite and PostgreSQL (database `callscope_bench_pipeline`, made afresh).
#  6. opens 1,000 live debug streams on one call and times each appended turn's arrival.
# BENCH_CALLS (default 1000000) and BENCH_ONLY=sqlite|postgres|http|viewer|pipeline|live|otlp narrow
# it; BENCH_PIPELINE_SECONDS (default 15) sets how long each pipeline load runs.
set -euo pipefail
cd "$(dirname "$0")/.."
CALLSCOPE_SETUP_OTLP=${CALLSCOPE_SETUP_OTLP:-0} CALLSCOPE_SETUP_SCHEMATHESIS=${CALLSCOPE_SETUP_SCHEMATHESIS:-0} \
  source scripts/setup.sh >/dev/null
bash scripts/services.sh >/dev/null

calls=${BENCH_CALLS:-1000000}
only=${BENCH_ONLY:-}
cache=$HOME/.cache/callscope-bench
mkdir -p "$cache"
cargo build --release -p callscope-server --locked
bin=$CARGO_TARGET_DIR/release/callscope

fill() { # url key-file
  echo "==> filling $1 with $calls demo calls (skipped when already filled)"
  /usr/bin/time -f "    %e s, %M KB peak" \
    "$bin" --database-url "$1" demo --calls "$calls" --days 365 --until 2026-11-01 --seed 1 \
      --if-empty --link-key-file "$2" --json >"$cache/demo-$(basename "$2" .key).json"
}

sqlite_url="sqlite://$cache/bench.db"
pg_url="postgres://postgres@127.0.0.1:5432/callscope_bench"

if [ -z "$only" ] || [ "$only" = sqlite ]; then
  fill "$sqlite_url" "$cache/sqlite.key"
  CALLSCOPE_BENCH_DATABASE_URL=$sqlite_url cargo bench -p callscope-server --bench calls_api --locked
fi
if [ -z "$only" ] || [ "$only" = postgres ]; then
  psql -h 127.0.0.1 -U postgres -d test -tAc "SELECT 1 FROM pg_database WHERE datname = 'callscope_bench'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -d test -tAc "CREATE DATABASE callscope_bench" >/dev/null
  fill "$pg_url" "$cache/postgres.key"
  CALLSCOPE_BENCH_DATABASE_URL=$pg_url cargo bench -p callscope-server --bench calls_api --locked
fi
if [ -z "$only" ] || [ "$only" = http ]; then
  command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  # SQLite (2,000 demo calls), then the same calls in PostgreSQL (`callscope_bench_http`).
  pg_http="postgres://postgres@127.0.0.1:5432/callscope_bench_http"
  psql -h 127.0.0.1 -U postgres -d test -tAc "SELECT 1 FROM pg_database WHERE datname = 'callscope_bench_http'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -d test -tAc "CREATE DATABASE callscope_bench_http" >/dev/null
  for db_url in "sqlite://$cache/http.db" "$pg_http"; do
    name=$(case $db_url in sqlite*) echo sqlite ;; *) echo postgres ;; esac)
    "$bin" --database-url "$db_url" demo --calls 2000 --seed 3 --if-empty \
      --link-key-file "$cache/http-$name.key" --base-url http://127.0.0.1:18090 --json >"$cache/http-$name.json"
    url=$(sed -E 's/.*"debug_url":"([^"]+)".*/\1/' "$cache/http-$name.json")
    key=$(sed -E 's/.*"api_key":"([^"]+)".*/\1/' "$cache/http-$name.json")
    # Once with the miss limiter in process, once sharing it (and live state) through Redis.
    for redis in "" "redis://127.0.0.1:6379"; do
      echo "==> $name, serve with REDIS_URL=${redis:-unset}"
      if [ -n "$redis" ]; then with_redis=(--redis-url "$redis" --redis-prefix callscope-bench:); else with_redis=(); fi
      env -u REDIS_URL RUST_LOG=warn "$bin" --database-url "$db_url" serve --link-key-file "$cache/http-$name.key" \
        --bind 127.0.0.1:18090 --dist dist --pipeline-token bench-pipeline-token-0123 "${with_redis[@]}" >/dev/null &
      server=$!
      trap 'kill $server 2>/dev/null || true' EXIT
      sleep 1
      # A live call of 40 entries; then the same call while an entry is appended every 100 ms.
      read -r live_id live_url < <(python3 scripts/bench/live_link.py http://127.0.0.1:18090 "$key" bench-pipeline-token-0123)
      for target in healthz ended live live-appending; do
        case $target in
          healthz) t=http://127.0.0.1:18090/healthz ;;
          ended) t=$url ;;
          *) t=$live_url ;;
        esac
        if [ "$target" = live-appending ]; then
          python3 scripts/bench/live_link.py http://127.0.0.1:18090 "$key" bench-pipeline-token-0123 --append "$live_id" &
          appender=$!
        fi
        echo "==> wrk -t2 -c64 -d15s --latency ($target)"
        wrk -t2 -c64 -d15s --latency -H 'Accept: application/json' "$t" \
          | grep -E 'Requests/sec|^ +(50|90|99)%|Non-2xx|Socket errors'
        if [ "$target" = live-appending ]; then kill $appender; wait $appender 2>/dev/null || true; fi
      done
      curl -sf -X POST -H "Authorization: Bearer bench-pipeline-token-0123" -H 'Content-Type: application/json' \
        "http://127.0.0.1:18090/pipeline/v1/calls/$live_id/end" -d '{"ended_reason": "caller-hangup"}' >/dev/null
      kill $server; wait $server 2>/dev/null || true
    done
  done
fi
if [ -z "$only" ] || [ "$only" = viewer ]; then
  echo "==> viewer first paint (release dist/, headless Chromium)"
  trunk build --release --offline >/dev/null
  cargo run -q -p callscope-server --release --locked -- precompress dist >/dev/null
  cargo bench -p callscope-e2e --bench viewer_paint --locked
fi
if [ -z "$only" ] || [ "$only" = pipeline ]; then
  echo "==> pipeline API: live turns at 64 concurrent calls, Telnyx hangup to call.ended queued"
  seconds=${BENCH_PIPELINE_SECONDS:-15}
  # One call per task for the whole run (transcripts grow as long as the run allows), then
  # a steady stream of 40-entry calls (a few minutes of talk each).
  cargo bench -p callscope-server --bench pipeline --locked -- sqlite postgres \
    --seconds "$seconds" --calls 64 --hooks 500
  cargo bench -p callscope-server --bench pipeline --locked -- sqlite postgres \
    --seconds "$seconds" --calls 64 --hooks 0 --turns-per-call 40
fi
if [ -z "$only" ] || [ "$only" = otlp ]; then
  echo "==> OTLP traces: spans ingested per second, protobuf, 512-span batches, 4 exporters"
  cargo bench -p callscope-server --bench otlp_ingest --locked -- sqlite postgres \
    --seconds "${BENCH_PIPELINE_SECONDS:-15}" --concurrency 4
fi
if [ -z "$only" ] || [ "$only" = live ]; then
  echo "==> live debug stream: 1,000 open streams on one call, append to arrival, memory per stream"
  cargo bench -p callscope-server --bench live_fanout --locked -- --streams 1000 --turns 50
fi
