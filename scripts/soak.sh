#!/usr/bin/env bash
# The bounded soak (issue 16; not part of CI): the release server on loopback under a steady
# mixed load for SOAK_SECONDS (default 600): pipeline ingestion (create, turns, end), list
# and detail reads, public debug-link views, and every call's webhooks delivered to a
# loopback receiver (`--webhook-allow-private`). The load generator (server/examples/soak.rs)
# samples the server's RSS every 10 s, counts errors and prints a summary; the script fails
# when there was an error or an undelivered event. SOAK_RPS (default 50) sets the rate;
# SOAK_DATABASE_URL (default a fresh SQLite file) the database; SOAK_PROFILE (default
# release; `dev` for a debug build) the cargo profile.
set -euo pipefail
cd "$(dirname "$0")/.."
CALLSCOPE_SETUP_BROWSER=0 CALLSCOPE_SETUP_OTLP=0 source scripts/setup.sh >/dev/null

profile=${SOAK_PROFILE:-release}
cargo build --profile "$profile" --locked -p callscope-server --bin callscope --example soak
dir=$profile; [ "$profile" = dev ] && dir=debug
bin=$CARGO_TARGET_DIR/$dir/callscope
gen=$CARGO_TARGET_DIR/$dir/examples/soak

work=$(mktemp -d /tmp/callscope-soak.XXXXXX)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

db=${SOAK_DATABASE_URL:-sqlite://$work/soak.db}
token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
key=$("$bin" --database-url "$db" keys create --account soak)
agent=$("$bin" --database-url "$db" agents create --account soak --name "Soak agent" --json \
  | sed -E 's/.*"agent_id":"([^"]+)".*/\1/')

env -u REDIS_URL RUST_LOG=warn "$bin" --database-url "$db" serve --bind 127.0.0.1:0 \
  --dist /nonexistent-dist --pipeline-token "$token" --webhook-allow-private \
  --link-key "$(head -c 32 /dev/urandom | base64)" \
  >"$work/stdout" 2>"$work/server.log" &
server=$!
for _ in $(seq 1 300); do
  grep -q 'listening on' "$work/stdout" 2>/dev/null && break
  sleep 0.1
done
base=$(sed -nE 's/^callscope listening on (.*)$/\1/p' "$work/stdout")
[ -n "$base" ] || { cat "$work/server.log"; exit 1; }

echo "==> soak: ${SOAK_SECONDS:-600} s at ${SOAK_RPS:-50} requests/s on $base ($db, $profile build)"
status=0
SOAK_BASE=$base SOAK_KEY=$key SOAK_AGENT=$agent SOAK_TOKEN=$token SOAK_PID=$server \
  "$gen" || status=$?
if grep -qE ' (ERROR|WARN) ' "$work/server.log"; then
  echo "server warnings and errors:"; grep -E ' (ERROR|WARN) ' "$work/server.log" | head -20
fi
exit $status
