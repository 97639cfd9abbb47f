#!/usr/bin/env bash
# The reliability numbers of docs/security.md, for each state backend:
#   1. open-loop mixed sends and checks at RATE requests/s for SECONDS against the
#      fake upstream at 50 ms: latency percentiles and unexpected statuses;
#   2. how fast limit refusals (429) come back, closed loop;
#   3. with SOAK_SECONDS > 0, the mixed load for that long on SQLite, with the app's
#      memory and open files before and after.
# Results are recorded in BENCHMARKS.md.
#   scripts/load.sh [rate=300] [seconds=60] [soak-seconds=0]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh >/dev/null 2>&1 || . scripts/setup.sh
RATE="${1:-300}"
SECONDS_PER_RUN="${2:-60}"
SOAK_SECONDS="${3:-0}"
PORT=3300
FAKE=http://127.0.0.1:$((PORT + 10))
DATA_ROOT="target/bench-data/load-$(date +%s)"

cargo leptos build --release --precompress >/dev/null 2>&1 || cargo leptos build --release --precompress
cargo build --locked --release -p fake-verify 2>/dev/null
cargo build --locked --release -p loadgen 2>/dev/null
load() { ./target/release/load "$@" 2>/dev/null; }

pids=()
# The data of these throwaway servers reaches gigabytes over many runs: not kept.
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$DATA_ROOT"' EXIT
wait_for() { for _ in $(seq 100); do curl -fs -o /dev/null "$1" && return; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
rss() { echo "$(($(awk '/VmRSS/ { print $2 }' "/proc/$1/status") / 1024)) MiB"; }
fds() { find "/proc/$1/fd" -mindepth 1 2>/dev/null | wc -l; }

redis_port=$((PORT + 20))
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
pids+=($!)
FAKE_VERIFY_ADDR="${FAKE#http://}" ./target/release/fake-verify 2>/dev/null &
pids+=($!)
wait_for "$FAKE/_fake/stats"
curl -fs -o /dev/null -H 'content-type: application/json' -d '{"latency_ms": 50}' "$FAKE/_fake/knobs"

# Starts the app through Twilio against the fake; $1 names the run, the rest are
# extra variables. Sets $app and $url.
start_app() {
  local name=$1 port=$2; shift 2
  env DATA_DIR="$DATA_ROOT/$name" LEPTOS_SITE_ADDR="127.0.0.1:$port" RUST_LOG=error VERIFY_PROVIDER=twilio \
    TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000 TWILIO_AUTH_TOKEN=test_fake_twilio_token \
    TWILIO_VERIFY_SERVICE_SID=VA00000000000000000000000000000000 TWILIO_VERIFY_API_URL="$FAKE" \
    "$@" ./target/release/phone-verify &
  app=$!
  pids+=("$app")
  url="http://127.0.0.1:$port"
  wait_for "$url/"
}

# The mixed load comes from one IP and never repeats a number: lift the per-IP and
# per-prefix limits for it (the refusal run keeps the defaults).
LIFTED=(VERIFY_LIMIT_IP_PER_HOUR=1000000 VERIFY_LIMIT_PREFIX_PER_HOUR=1000000
  VERIFY_LIMIT_GLOBAL_PER_HOUR=1000000 VERIFY_LIMIT_COUNTRY_PER_HOUR=1000000
  VERIFY_LIMIT_SESSIONS_PER_HOUR=1000000)
for backend in sqlite redis; do
  extra=()
  [ "$backend" = redis ] && extra=(REDIS_URL="redis://127.0.0.1:$redis_port" REDIS_PREFIX="load-$RANDOM:")
  echo "== $backend"
  start_app "$backend-mixed" $((PORT + 1)) "${LIFTED[@]}" "${extra[@]}"
  echo "app RSS before: $(rss "$app"), open files: $(fds "$app")"
  load mixed "$url" "$FAKE" "$RATE" "$SECONDS_PER_RUN"
  echo "app RSS after: $(rss "$app"), open files: $(fds "$app")"
  kill "$app"; wait "$app" 2>/dev/null || true
  [ "$backend" = redis ] && extra=(REDIS_URL="redis://127.0.0.1:$redis_port" REDIS_PREFIX="load-$RANDOM:")
  start_app "$backend-reject" $((PORT + 2)) "${extra[@]}"
  load reject "$url" 32 10
  kill "$app"; wait "$app" 2>/dev/null || true
done

if [ "$SOAK_SECONDS" -gt 0 ]; then
  echo "== soak: sqlite, mixed $RATE/s for ${SOAK_SECONDS}s"
  start_app soak $((PORT + 3)) "${LIFTED[@]}"
  load mixed "$url" "$FAKE" "$RATE" 30 >/dev/null
  echo "app RSS after a 30 s warm-up: $(rss "$app"), open files: $(fds "$app")"
  load mixed "$url" "$FAKE" "$RATE" "$SOAK_SECONDS"
  echo "app RSS after the soak: $(rss "$app"), open files: $(fds "$app")"
fi
