#!/usr/bin/env bash
# Builds the viewer and the server, migrates, fills an empty database with demo data,
# prints an API key (and a call to open), and serves on 127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser is only needed by the tests.
CALLSCOPE_SETUP_BROWSER=${CALLSCOPE_SETUP_BROWSER:-0}
export CALLSCOPE_SETUP_BROWSER
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

echo "==> migrating and filling demo data"
"$bin" migrate
"$bin" demo --calls "${CALLSCOPE_DEMO_CALLS:-300}" --if-empty --base-url "http://$CALLSCOPE_BIND"

echo "==> serving"
exec "$bin" serve
