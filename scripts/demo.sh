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
# The host checks the tokens' issuer: phone-verify's public URL, when .env names one.
public_url="${VERIFY_PUBLIC_URL:-}"
if [ -z "$public_url" ] && [ -f .env ]; then
  public_url="$(sed -n 's/^VERIFY_PUBLIC_URL=//p' .env | tail -n 1)"
fi
export WIDGET_URL="${WIDGET_URL:-${public_url:-http://$widget_addr}}"
LEPTOS_SITE_ADDR="$widget_addr" LEPTOS_SITE_ROOT=target/site target/release/phone-verify &
widget=$!
trap 'kill "$widget" 2>/dev/null; wait 2>/dev/null' EXIT INT TERM

ready=""
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://$widget_addr/readyz" 2>/dev/null && { ready=1; break; }
  kill -0 "$widget" 2>/dev/null || break
  sleep 0.2
done
[ -n "$ready" ] || { echo "phone-verify did not become ready on http://$widget_addr" >&2; exit 1; }

echo
echo "  widget:    $WIDGET_URL   (codes and texts: $WIDGET_URL/dev/outbox)"
echo "  demo host: ${DEMO_HOST_URL:-http://localhost:3100}/   <- open this"
echo
target/release/demo-host
