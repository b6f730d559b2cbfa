#!/usr/bin/env bash
# Builds the viewer and the server, migrates, fills an empty database with demo data,
# prints an API key (and a call to open), serves on 127.0.0.1:8080 with the simulated
# telephony provider, and runs a handful of simulated live calls (`callscope simulate`),
# printing a live call's debug link and curl lines to control it.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser is only needed by the tests.
CALLSCOPE_SETUP_BROWSER=${CALLSCOPE_SETUP_BROWSER:-0}
export CALLSCOPE_SETUP_BROWSER
# Nor is the OpenTelemetry Python SDK.
export CALLSCOPE_SETUP_OTLP=${CALLSCOPE_SETUP_OTLP:-0}
# Nor schemathesis.
export CALLSCOPE_SETUP_SCHEMATHESIS=${CALLSCOPE_SETUP_SCHEMATHESIS:-0}
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

profile=${CALLSCOPE_PROFILE:-dev}
export DATABASE_URL=${DATABASE_URL:-sqlite://data/callscope.db}
export CALLSCOPE_BIND=${CALLSCOPE_BIND:-127.0.0.1:8080}
export CALLSCOPE_DIST=${CALLSCOPE_DIST:-dist}

echo "==> building the viewer"
cargo fetch --locked >/dev/null
trunk build --release --offline
echo "==> building the server ($profile)"
cargo build -p callscope-server --locked --profile "$profile"
case "$profile" in dev) dir=debug ;; *) dir=$profile ;; esac
bin="$CARGO_TARGET_DIR/$dir/callscope"
# Brotli (quality 11) and gzip copies of the viewer, sent as built.
"$bin" precompress "$CALLSCOPE_DIST" >/dev/null

echo "==> migrating and filling demo data"
"$bin" migrate
run_dir=$(mktemp -d)
"$bin" demo --calls "${CALLSCOPE_DEMO_CALLS:-300}" --if-empty --base-url "http://$CALLSCOPE_BIND" \
    | tee "$run_dir/demo.txt"
key=$(sed -n 's/^api key:  *\([^ ]*\).*/\1/p' "$run_dir/demo.txt")

# Live calls: the built-in simulated telephony provider answers end/transfer/gather, and
# `callscope simulate` plays the voice pipeline through the pipeline API (a fresh token
# each run, unless one is set).
export CALLSCOPE_TELEPHONY=${CALLSCOPE_TELEPHONY:-simulated}
if [ -z "${CALLSCOPE_PIPELINE_TOKEN:-}" ]; then
    CALLSCOPE_PIPELINE_TOKEN=$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')
fi
export CALLSCOPE_PIPELINE_TOKEN
live_calls=${CALLSCOPE_LIVE_CALLS:-4}
base="http://$CALLSCOPE_BIND"

# Both run in their own session, so Ctrl-C reaches only this script, which stops them in
# order: the simulator first (it hangs up its live calls), then the server.
server_pid=
sim_pid=
stop() {
    trap - EXIT INT TERM
    if [ -n "$sim_pid" ]; then
        kill -TERM "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$run_dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

echo "==> serving"
setsid "$bin" serve &
server_pid=$!
for _ in $(seq 1 120); do
    curl -sf "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { wait "$server_pid"; exit 1; }
    sleep 0.5
done

if [ "$live_calls" -gt 0 ]; then
    echo "==> starting $live_calls simulated live calls"
    # The first call holds for 15 minutes after its opening exchange, so it stays live
    # while you try the commands below.
    setsid "$bin" simulate --calls "$live_calls" --forever --hold 900 --base-url "$base" \
        >"$run_dir/simulate.txt" &
    sim_pid=$!
    call=
    for _ in $(seq 1 120); do
        call=$(sed -n '1s/ ringing$//p' "$run_dir/simulate.txt")
        if [ -n "$call" ] && grep -qx "$call talking" "$run_dir/simulate.txt"; then
            break
        fi
        kill -0 "$sim_pid" 2>/dev/null || break
        sleep 0.5
    done
    link=
    if [ -n "$call" ]; then
        link=$(curl -sf -H "Authorization: Bearer $key" "$base/v1/calls/$call/debug-link" |
            sed -n 's/.*"url": *"\([^"]*\)".*/\1/p')
    fi
    if [ -n "$link" ]; then
        auth="-H \"Authorization: Bearer $key\""
        json="-H 'Content-Type: application/json'"
        cat <<EOF

Live calls: $live_calls simulated calls are running (a new one starts as each ends).
$call is live (on hold for 15 minutes after its opening). Open its debug link:

    $base$link

Then control it (the simulated provider answers within a few seconds):
status:   curl $auth $base/v1/calls/$call/status
gather:   curl $auth $json $base/v1/calls/$call/gather -d '{"prompt": "Please enter your 4-digit PIN"}'
transfer: curl $auth $json $base/v1/calls/$call/transfer -d '{"destination": "+31850099999"}'
end:      curl $auth -X POST $base/v1/calls/$call/end

(A prompt asking for N digits gets N digits, one containing "timeout" times out; a
destination ending in 0000 is busy.) Ctrl-C stops the simulator, then the server.

EOF
    else
        echo "warning: no live call to link yet (see the simulator's messages above)" >&2
    fi
fi

wait "$server_pid"
