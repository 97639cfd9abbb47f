#!/usr/bin/env bash
# Runs the no-JS path (form posts and the rendered page after each) hard against a
# fresh release server several times, then stops the server with SIGTERM, and counts
# the runs in which a request never finished or the server did not exit. It found a
# worker thread deadlocked in reactive_graph (src/server/routes/unowned.rs). By hand
# after `cargo leptos build --release` and `cargo build --release -p loadgen`:
#   scripts/check-no-hang.sh [runs] [seconds per run]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS="${1:-12}"
SECONDS_PER_RUN="${2:-8}"
PORT=3299
DATA_ROOT="target/bench-data/no-hang-$(date +%s)"
trap 'rm -rf "$DATA_ROOT"' EXIT
. scripts/lifted-limits.sh
export VERIFY_RESEND_COOLDOWN_SECS=0 RUST_LOG=error
wait_for() { for _ in $(seq 100); do curl -fs -o /dev/null "$1" && return; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
bad=0
for run in $(seq "$RUNS"); do
  DATA_DIR="$DATA_ROOT/$run" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" ./target/release/phone-verify >/dev/null 2>&1 &
  server=$!
  wait_for "http://127.0.0.1:$PORT/"
  # The generator gives up on a request after 40 s; a run that long has hung.
  if timeout 60 ./target/release/flow "http://127.0.0.1:$PORT" 32 "$SECONDS_PER_RUN" --forms >/dev/null 2>&1; then
    flow=finished
  else
    flow=HUNG
  fi
  kill "$server"
  exited=no
  for _ in $(seq 30); do kill -0 "$server" 2>/dev/null || { exited=yes; break; }; sleep 0.5; done
  [ "$exited" = no ] && kill -9 "$server"
  echo "run $run: requests $flow; exited within 15 s of SIGTERM: $exited"
  if [ "$flow" != finished ] || [ "$exited" != yes ]; then bad=$((bad + 1)); fi
done
echo "$((RUNS - bad)) of $RUNS runs ended cleanly"
[ "$bad" -eq 0 ]
