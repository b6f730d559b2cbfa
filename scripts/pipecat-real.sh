#!/usr/bin/env bash
# A real Pipecat pipeline traced into callscope (best effort; not part of scripts/test.sh):
#
#   1. installs pipecat-ai (PIPECAT_VERSION, default 1.7.0) and the OpenTelemetry SDK +
#      OTLP/HTTP exporter from PyPI into its own venv (CALLSCOPE_PIPECAT_VENV, default
#      ~/.cache/callscope-pipecat-venv; skipped when that version is there), plus an empty
#      English punkt_tab for NLTK (Pipecat splits sentences with it and would download
#      its data at run time, which fails offline);
#   2. builds the server and serves it on a free loopback port over SQLite in a temporary
#      folder, with a pipeline token, an account, an API key and an agent;
#   3. creates a call through the pipeline API and runs tests/otlp/pipecat_real.py: Pipecat's
#      own OpenAI STT/LLM/TTS services against a fake OpenAI server on loopback, a function
#      call, PipelineTask(enable_tracing=True, conversation_id=<the call id>), exporting
#      with the SDK's OTLPSpanExporter to the server (OTEL_EXPORTER_OTLP_ENDPOINT/_HEADERS);
#   4. prints the spans Pipecat made and the resulting call (GET /v1/calls/:id).
#
# Every step is bounded by a timeout; the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

version=${PIPECAT_VERSION:-1.7.0}
venv=${CALLSCOPE_PIPECAT_VENV:-$HOME/.cache/callscope-pipecat-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/callscope-target}
step() { printf '\n==> %s\n' "$*"; }
# Everything after the install talks to 127.0.0.1 only: never through a proxy.
loopback() { env -u HTTP_PROXY -u http_proxy -u HTTPS_PROXY -u https_proxy -u ALL_PROXY -u all_proxy \
    NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost "$@"; }

step "pipecat-ai $version (venv $venv)"
python=$(command -v python3.11 || command -v python3)
have=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("pipecat-ai"))' 2>/dev/null || true)
if [ "$have" = "$version" ]; then
    echo "ok (pipecat-ai $have)"
else
    [ ! -e "$venv" ] || [ -f "$venv/pyvenv.cfg" ] || { echo "$venv is not a venv" >&2; exit 1; }
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # The SDK at the versions tests/otlp/requirements.txt pins; pip picks the protobuf
    # both accept (pipecat-ai wants protobuf < 7).
    timeout 1200 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "pipecat-ai==$version" \
        "opentelemetry-sdk==$(sed -n 's/^opentelemetry-sdk==//p' tests/otlp/requirements.txt)" \
        "opentelemetry-exporter-otlp-proto-http==$(sed -n 's/^opentelemetry-exporter-otlp-proto-http==//p' tests/otlp/requirements.txt)"
fi
punkt="$venv/nltk_data/tokenizers/punkt_tab/english"
mkdir -p "$punkt"
for f in collocations.tab sent_starters.txt abbrev_types.txt ortho_context.tab; do
    [ -e "$punkt/$f" ] || : > "$punkt/$f"
done
"$venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
    | grep -E '^(pipecat-ai|opentelemetry-(sdk|exporter-otlp-proto-http)|protobuf) '

step "server"
timeout 1800 cargo build -p callscope-server --locked --quiet
bin="$CARGO_TARGET_DIR/debug/callscope"
tmp=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
export DATABASE_URL="sqlite://$tmp/callscope.db"
token="pipecat-real-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
key=$("$bin" keys create --account "Pipecat real")
agent=$("$bin" agents create --account "Pipecat real" --name "Ava" --json \
    | "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["agent_id"])')
"$bin" serve --bind 127.0.0.1:0 --pipeline-token "$token" --dist "$tmp/no-viewer" \
    --telephony simulated >"$tmp/serve.out" 2>"$tmp/serve.log" &
server_pid=$!
for _ in $(seq 100); do
    grep -q 'listening on' "$tmp/serve.out" 2>/dev/null && break
    sleep 0.1
done
base=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$tmp/serve.out")
[ -n "$base" ] || { echo "the server did not start:" >&2; cat "$tmp/serve.log" >&2; exit 1; }
echo "serving on $base (agent $agent)"
call=$(loopback curl -sS --max-time 10 -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    "$base/pipeline/v1/calls" -d "{\"agent_id\": \"$agent\", \"from_number\": \"+31612345678\",
      \"to_number\": \"+31850012345\", \"status\": \"in-progress\"}" \
    | "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["call_id"])')
echo "created $call"

step "a traced Pipecat pipeline (fake OpenAI services on loopback)"
OTEL_EXPORTER_OTLP_ENDPOINT="$base" \
OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20$token" \
NLTK_DATA="$venv/nltk_data" PYTHONDONTWRITEBYTECODE=1 \
    loopback timeout 300 "$venv/bin/python" "$root/tests/otlp/pipecat_real.py" --call-id "$call" \
    --dump "${PIPECAT_REAL_DUMP:-$tmp/spans.json}" 2>"$tmp/pipecat.log" \
    || { echo "the pipeline failed:" >&2; tail -40 "$tmp/pipecat.log" >&2; exit 1; }
if grep -q 'ERROR\|Something went wrong' "$tmp/pipecat.log"; then
    echo "Pipecat logged errors:"
    grep 'ERROR\|Something went wrong' "$tmp/pipecat.log" | cut -c1-300
fi

step "the call in callscope (GET /v1/calls/$call)"
loopback curl -sS --max-time 10 -H "Authorization: Bearer $key" "$base/v1/calls/$call" \
    | "$venv/bin/python" -m json.tool
