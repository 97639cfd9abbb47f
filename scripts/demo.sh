#!/usr/bin/env bash
# The demo host (examples/demo-host) on http://localhost:3100, a site of its own with
# its own accounts, embedding the widget from phone-verify on http://127.0.0.1:3000:
# two sites, as in production. Sets up what is missing, builds both in release,
# starts both; Ctrl-C stops both.
#
# phone-verify takes its settings from the environment or .env as always (the local
# provider unless credentials are set; codes and texts at /dev/outbox). The host's
# settings and their defaults are in examples/demo-host/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh

cargo leptos build --release --precompress
cargo build --locked --release -p demo-host

widget_addr="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export WIDGET_URL="${WIDGET_URL:-http://$widget_addr}"
LEPTOS_SITE_ADDR="$widget_addr" LEPTOS_SITE_ROOT=target/site target/release/phone-verify &
widget=$!
trap 'kill "$widget" 2>/dev/null; wait 2>/dev/null' EXIT INT TERM

for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "$WIDGET_URL/readyz" 2>/dev/null && break
  kill -0 "$widget" 2>/dev/null || { echo "phone-verify did not start" >&2; exit 1; }
  sleep 0.2
done

echo
echo "  widget:    $WIDGET_URL   (codes and texts: $WIDGET_URL/dev/outbox)"
echo "  demo host: ${DEMO_HOST_URL:-http://localhost:3100}/   <- open this"
echo
target/release/demo-host
