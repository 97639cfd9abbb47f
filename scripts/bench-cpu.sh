#!/usr/bin/env bash
# Measures and prints the server's CPU time per completed verification (start, read
# the code, check), from /proc/<pid>/stat (user + system) over the measured window,
# closed loop, for the JavaScript path (server functions answering JSON) and the
# no-JS path (form posts, each followed by its redirect back to the rendered page), on the
# local provider and on MessageBird against the fake upstream. Run by scripts/bench.sh;
# by hand after `cargo leptos build --release` and
# `cargo build --release -p loadgen -p fake-verify`:
#   scripts/bench-cpu.sh [workers] [seconds]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WORKERS="${1:-32}"
SECONDS_PER_RUN="${2:-10}"
PORT=3260
FAKE=http://127.0.0.1:4260
DATA_ROOT="target/bench-data/cpu-$(date +%s)"
. scripts/lifted-limits.sh
export VERIFY_RESEND_COOLDOWN_SECS=0 RUST_LOG=error
HZ=$(getconf CLK_TCK)
pids=()
# The data of these throwaway servers reaches gigabytes over many runs: not kept.
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$DATA_ROOT"' EXIT
wait_for() { for _ in $(seq 100); do curl -fs -o /dev/null "$1" && return; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

FAKE_VERIFY_ADDR="${FAKE#http://}" ./target/release/fake-verify 2>/dev/null &
fake_pid=$!
pids+=("$fake_pid")
wait_for "$FAKE/_fake/stats"

# measure LABEL PROVIDER [flow options...]: a fresh server, one closed-loop run.
measure() {
  local label=$1 provider=$2; shift 2
  local port=$PORT; PORT=$((PORT + 1))
  local vars=(DATA_DIR="$DATA_ROOT/$label" LEPTOS_SITE_ADDR="127.0.0.1:$port")
  if [ "$provider" = messagebird ]; then
    vars+=(VERIFY_PROVIDER=messagebird MESSAGEBIRD_ACCESS_KEY=test_fake_messagebird_key MESSAGEBIRD_API_URL="$FAKE")
  fi
  env "${vars[@]}" ./target/release/phone-verify &
  local server=$!
  pids+=("$server")
  wait_for "http://127.0.0.1:$port/"
  local before fake_before
  before=$(cpu_ticks "$server"); fake_before=$(cpu_ticks "$fake_pid")
  local out
  out=$(./target/release/flow "http://127.0.0.1:$port" "$WORKERS" "$SECONDS_PER_RUN" "$@" 2>/dev/null)
  local after fake_after
  after=$(cpu_ticks "$server"); fake_after=$(cpu_ticks "$fake_pid")
  kill "$server"; wait "$server" 2>/dev/null || true
  # The warm-up round trip of each worker is inside the window too.
  local done_count
  done_count=$(( $(sed -E 's/.*round trips: ([0-9]+).*/\1/' <<<"$out") + WORKERS ))
  printf '%-34s %s\n' "$label" "$out"
  python3 -c "print(f'{\"\":34s} server CPU {($after - $before) / $HZ:.2f} s for $done_count verifications: {($after - $before) / $HZ * 1000 / $done_count:.3f} ms each (fake upstream: {($fake_after - $fake_before) / $HZ * 1000 / $done_count:.3f} ms)')"
}

echo "== server CPU per verification, $WORKERS browsers, closed loop, ${SECONDS_PER_RUN}s each (targets: JSON <= 0.4 ms, forms <= 0.8 ms)"
measure "local, JSON" local
measure "local, forms (no JS)" local --forms
measure "MessageBird (fake), JSON" messagebird --fake "$FAKE"
measure "MessageBird (fake), forms (no JS)" messagebird --fake "$FAKE" --forms
