#!/usr/bin/env bash
# Measures and prints: the release bundle's sizes (wasm, JS, CSS; raw, gzip, brotli),
# the bytes Chromium transfers for a first and a repeat visit (precompressed, hashed,
# cached bundle), the latency of the first requests after start,
# the time from navigation to an interactive widget in headless Chromium,
# start+check round trips per second on the local provider (closed loop), and
# open-loop start+check through MessageBird and Twilio against the fake upstream at
# 0 ms and 50 ms upstream latency, with the latency the app adds over the upstream,
# on SQLite and on Redis (scripts/bench-upstream.sh);
# the server's CPU time per verification on both paths (scripts/bench-cpu.sh), how
# verifications per second scale with browsers at 50 ms upstream latency
# (scripts/bench-scale.sh), time to interactive over an emulated Fast 3G network;
# and for embedding: the loader's size, the frame's time to interactive inside a host
# page on another site, and siteverify throughput.
# Results are recorded in BENCHMARKS.md.
#   scripts/bench.sh [workers] [seconds] [open-loop rate]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh >/dev/null 2>&1 || . scripts/setup.sh
WORKERS="${1:-16}"
SECONDS_PER_RUN="${2:-10}"
RATE="${3:-200}"
PORT=3200
. scripts/lifted-limits.sh
DATA_ROOT="target/bench-data/$(date +%s)"

cargo leptos build --release --precompress >/dev/null 2>&1 || cargo leptos build --release --precompress
cargo build --locked --release -p fake-verify 2>/dev/null
cargo build --locked --release -p loadgen 2>/dev/null

echo "== bundle sizes (target/site/pkg, bytes)"
printf '%-22s %10s %10s %10s\n' file raw gzip brotli
total_raw=0; total_gz=0; total_br=0
for file in target/site/pkg/*.wasm target/site/pkg/*.js target/site/pkg/*.css; do
  raw=$(stat -c %s "$file")
  gz=$(gzip -9 -c "$file" | wc -c)
  br=$(brotli -q 11 -c "$file" | wc -c)
  total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz)); total_br=$((total_br + br))
  printf '%-22s %10d %10d %10d\n' "$(basename "$file")" "$raw" "$gz" "$br"
done
printf '%-22s %10d %10d %10d   (target: brotli <= 204800)\n' total "$total_raw" "$total_gz" "$total_br"

echo
echo "== the first requests after start (the number metadata loads at start-up)"
first_port=$((PORT + 30))
DATA_DIR="$DATA_ROOT/first" LEPTOS_SITE_ADDR="127.0.0.1:$first_port" RUST_LOG=warn ./target/release/phone-verify &
first=$!
# Wait for the port only, so that no request comes before the measured ones.
for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$first_port") 2>/dev/null && break; sleep 0.05; done
for n in 1 2 3; do
  curl -s -o /dev/null -w "format request $n: %{time_total} s\n" -H 'Sec-Fetch-Site: same-origin' \
    -H 'Accept: application/json' --data 'phone=%2B447400123456&country=' \
    "http://127.0.0.1:$first_port/api/verify/format"
done
curl -s -o /dev/null -w "first page: %{time_total} s\n" "http://127.0.0.1:$first_port/"
kill "$first"; wait "$first" 2>/dev/null || true

echo
echo "== start+check round trips, local provider, $WORKERS sessions, ${SECONDS_PER_RUN}s"
DATA_DIR="$DATA_ROOT/local" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" VERIFY_RESEND_COOLDOWN_SECS=0 RUST_LOG=warn \
  ./target/release/phone-verify &
server=$!
pids=("$server")
# The data of these throwaway servers reaches gigabytes over many runs: not kept.
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$DATA_ROOT"' EXIT
wait_for() { for _ in $(seq 100); do curl -fs -o /dev/null "$1" && return; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
rss() { echo "$(($(awk '/VmRSS/ { print $2 }' "/proc/$1/status") / 1024)) MiB"; }
wait_for "http://127.0.0.1:$PORT/"
echo "(time to interactive first, on the idle server: headless Chromium, 20 cold loads)"
(cd end2end && node tti.mjs "http://127.0.0.1:$PORT" 20)
echo "(the same over an emulated Fast 3G network, 7 cold loads; target: interactive within 2.5 s)"
(cd end2end && node tti.mjs "http://127.0.0.1:$PORT" 7 fast3g)
echo "(bytes on the wire, first and repeat visit; target: bundle <= 210000 first, 0 on repeat)"
(cd end2end && node transfer.mjs "http://127.0.0.1:$PORT" 3)
./target/release/flow "http://127.0.0.1:$PORT" "$WORKERS" "$SECONDS_PER_RUN" 2>/dev/null
echo "server RSS after the run: $(rss "$server")"

echo
echo "== embedding: the loader, the frame in a host page on another site, siteverify"
printf '%-22s %10s %10s %10s   (target: loader brotli <= 8192)\n' file raw gzip brotli
for file in embed/loader.js embed/frame.js; do
  printf '%-22s %10d %10d %10d\n' "$(basename "$file")" "$(stat -c %s "$file")" \
    "$(gzip -9 -c "$file" | wc -c)" "$(brotli -q 11 -c "$file" | wc -c)"
done
HOST_ADDR="localhost:$((PORT + 20))" WIDGET_URL="http://127.0.0.1:$PORT" node end2end/host/server.mjs &
pids+=($!)
wait_for "http://localhost:$((PORT + 20))/signup"
(cd end2end && node embed-tti.mjs "http://localhost:$((PORT + 20))" 20)
(cd end2end && node embed-tti.mjs "http://localhost:$((PORT + 20))" 7 fast3g)
./target/release/siteverify "http://127.0.0.1:$PORT" 2000 "$WORKERS" 2>/dev/null

echo
kill "${pids[@]}" 2>/dev/null || true
scripts/bench-upstream.sh "$RATE" "$SECONDS_PER_RUN"

echo
scripts/bench-cpu.sh 32 "$SECONDS_PER_RUN"
echo
scripts/bench-scale.sh "$SECONDS_PER_RUN"
