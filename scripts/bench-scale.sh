#!/usr/bin/env bash
# Measures and prints how verifications per second scale with concurrent browsers
# when the provider takes 50 ms per call: MessageBird against the fake upstream
# (latency knob 50 ms), closed loop, c = 1, 8, 32, 128, 256 browsers, with state in
# SQLite and in Redis. Each round trip makes two provider calls, so c browsers can
# at best complete c / (2 × 55 ms) per second (50 ms upstream + 5 ms of everything
# else); the target is 90 % of that bound. Run by hand after the release builds
# (`cargo leptos build --release`, `cargo build --release -p loadgen -p fake-verify`):
#   scripts/bench-scale.sh [seconds]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_RUN="${1:-10}"
FAKE=http://127.0.0.1:4270
PORT=3270
REDIS_PORT=6390
DATA_ROOT="target/bench-data/scale-$(date +%s)"
. scripts/lifted-limits.sh
export VERIFY_RESEND_COOLDOWN_SECS=0 RUST_LOG=error \
  UPSTREAM_MAX_IN_FLIGHT=1024
pids=()
# The data of these throwaway servers reaches gigabytes over many runs: not kept.
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$DATA_ROOT"' EXIT
wait_for() { for _ in $(seq 100); do curl -fs -o /dev/null "$1" && return; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

FAKE_VERIFY_ADDR="${FAKE#http://}" ./target/release/fake-verify 2>/dev/null &
pids+=($!)
wait_for "$FAKE/_fake/stats"
curl -fs -o /dev/null -H 'content-type: application/json' -d '{"latency_ms": 50}' "$FAKE/_fake/knobs"

mkdir -p "$DATA_ROOT/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --maxmemory-policy noeviction --dir "$DATA_ROOT/redis" >/dev/null &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

printf '%-8s %6s %12s %12s %8s %10s %10s\n' state c "verified/s" "bound/s" share p50 p99
for backend in sqlite redis; do
  port=$PORT; PORT=$((PORT + 1))
  vars=(DATA_DIR="$DATA_ROOT/$backend" LEPTOS_SITE_ADDR="127.0.0.1:$port" VERIFY_PROVIDER=messagebird
    MESSAGEBIRD_ACCESS_KEY=test_fake_messagebird_key MESSAGEBIRD_API_URL="$FAKE")
  [ "$backend" = redis ] && vars+=(REDIS_URL="redis://127.0.0.1:$REDIS_PORT" REDIS_PREFIX="scale-$(date +%s):")
  env "${vars[@]}" ./target/release/phone-verify &
  server=$!
  pids+=("$server")
  wait_for "http://127.0.0.1:$port/"
  for c in 1 8 32 128 256; do
    out=$(./target/release/flow "http://127.0.0.1:$port" "$c" "$SECONDS_PER_RUN" --fake "$FAKE" 2>/dev/null)
    python3 - "$backend" "$c" "$out" <<'PY'
import re, sys
backend, c, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rate = float(re.search(r"throughput: ([0-9.]+)/s", out).group(1))
p50 = re.search(r"p50: ([0-9.]+ ms)", out).group(1)
p99 = re.search(r"p99: ([0-9.]+ ms)", out).group(1)
bound = c / (2 * 0.055)
print(f"{backend:8s} {c:6d} {rate:12.0f} {bound:12.0f} {rate / bound:8.0%} {p50:>10s} {p99:>10s}")
PY
  done
  kill "$server"; wait "$server" 2>/dev/null || true
done
