#!/usr/bin/env bash
# Measures and prints: the release bundle's sizes (wasm, JS, CSS; raw, gzip, brotli)
# and start+check round trips per second on the local provider.
# Results are recorded in BENCHMARKS.md.
#   scripts/bench.sh [workers] [seconds]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh >/dev/null 2>&1 || . scripts/setup.sh
WORKERS="${1:-16}"
SECONDS_PER_RUN="${2:-10}"
PORT=3200

cargo leptos build --release >/dev/null 2>&1 || cargo leptos build --release

echo "== bundle sizes (target/site/pkg, bytes)"
printf '%-22s %10s %10s %10s\n' file raw gzip brotli
total_raw=0; total_gz=0; total_br=0
for file in target/site/pkg/phone-verify.wasm target/site/pkg/phone-verify.js target/site/pkg/phone-verify.css; do
  raw=$(stat -c %s "$file")
  gz=$(gzip -9 -c "$file" | wc -c)
  br=$(brotli -q 11 -c "$file" | wc -c)
  total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz)); total_br=$((total_br + br))
  printf '%-22s %10d %10d %10d\n' "$(basename "$file")" "$raw" "$gz" "$br"
done
printf '%-22s %10d %10d %10d   (target: brotli <= 204800)\n' total "$total_raw" "$total_gz" "$total_br"

echo
echo "== start+check round trips, local provider, $WORKERS sessions, ${SECONDS_PER_RUN}s"
LEPTOS_SITE_ADDR="127.0.0.1:$PORT" VERIFY_RESEND_COOLDOWN_SECS=0 RUST_LOG=warn \
  ./target/release/phone-verify &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
cargo bench --locked --features ssr --bench flow -- "http://127.0.0.1:$PORT" "$WORKERS" "$SECONDS_PER_RUN" 2>/dev/null
echo "server RSS after the run: $(($(awk '/VmRSS/ { print $2 }' /proc/$server/status) / 1024)) MiB"
