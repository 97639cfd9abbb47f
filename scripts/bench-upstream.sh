#!/usr/bin/env bash
# Measures and prints the latency the app adds over the upstream: open-loop start+check
# round trips (each a fresh session and number, started on schedule whatever the
# answers) through MessageBird and Twilio against the fake upstream at 0 ms and 50 ms
# of upstream latency, against the same three steps sent straight to the fake in the
# same run (in turns of one second, each at the rate), with
# the state in SQLite and in Redis (target: added p50 <= 1 ms, p99 <= 5 ms). Run by
# scripts/bench.sh; by hand after `cargo leptos build --release` and
# `cargo build --release -p loadgen -p fake-verify`:
#   scripts/bench-upstream.sh [rate per second] [seconds]
# Last, the app in turns with a bare server making the same calls and trips
# (crates/loadgen/src/bin/floor.rs): what the app's own work adds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RATE="${1:-200}"
SECONDS_PER_RUN="${2:-10}"
PORT=3280
FAKE=http://127.0.0.1:4280
REDIS_PORT=6391
DATA_ROOT="target/bench-data/upstream-$(date +%s)"
. scripts/lifted-limits.sh
export RUST_LOG=error
pids=()
# The data of these throwaway servers reaches gigabytes over many runs: not kept.
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$DATA_ROOT"' EXIT
wait_for() { for _ in $(seq 100); do curl -fs -o /dev/null "$1" && return; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
rss() { echo "$(($(awk '/VmRSS/ { print $2 }' "/proc/$1/status") / 1024)) MiB"; }

FAKE_VERIFY_ADDR="${FAKE#http://}" ./target/release/fake-verify 2>/dev/null &
pids+=($!)
wait_for "$FAKE/_fake/stats"
mkdir -p "$DATA_ROOT/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --maxmemory-policy noeviction --dir "$DATA_ROOT/redis" >/dev/null &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "== open loop, $RATE start+check/s for ${SECONDS_PER_RUN}s, through each provider against the fake upstream"
for backend in sqlite redis; do
  declare -A app_pid=() app_port=()
  for provider in messagebird twilio; do
    port=$PORT; PORT=$((PORT + 1))
    vars=(DATA_DIR="$DATA_ROOT/$backend-$provider" LEPTOS_SITE_ADDR="127.0.0.1:$port")
    if [ "$provider" = messagebird ]; then
      vars+=(VERIFY_PROVIDER=messagebird MESSAGEBIRD_ACCESS_KEY=test_fake_messagebird_key MESSAGEBIRD_API_URL="$FAKE")
    else
      vars+=(VERIFY_PROVIDER=twilio TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000
        TWILIO_AUTH_TOKEN=test_fake_twilio_token TWILIO_VERIFY_SERVICE_SID=VA00000000000000000000000000000000
        TWILIO_VERIFY_API_URL="$FAKE")
    fi
    [ "$backend" = redis ] && vars+=(REDIS_URL="redis://127.0.0.1:$REDIS_PORT" REDIS_PREFIX="$provider-$(date +%s):")
    env "${vars[@]}" ./target/release/phone-verify &
    app_pid[$provider]=$!
    pids+=($!)
    wait_for "http://127.0.0.1:$port/"
    app_port[$provider]=$port
  done
  for latency in 0 50; do
    curl -fs -o /dev/null -H 'content-type: application/json' -d "{\"latency_ms\": $latency}" "$FAKE/_fake/knobs"
    for provider in messagebird twilio; do
      echo "-- $backend, $provider, upstream latency $latency ms"
      # Through the app and straight to the fake in turns, so that both see
      # the same machine (crates/loadgen/src/bin/upstream.rs).
      ./target/release/upstream "paired-$provider" "$FAKE" "$RATE" "$SECONDS_PER_RUN" \
        "http://127.0.0.1:${app_port[$provider]}" 2>/dev/null
      echo "   app RSS: $(rss "${app_pid[$provider]}")"
    done
  done
  kill "${app_pid[@]}"; wait "${app_pid[@]}" 2>/dev/null || true
done

# The floor: a bare server in the app's place (crates/loadgen/src/bin/floor.rs), with
# the same MessageBird calls and Redis trips and none of the app's own work, in turns
# with the app in the same minutes. The app's added latency less the floor's is what
# the app's own work costs; the floor's is what this machine charges for the hops and
# trips alone, whatever a server does.
echo "== the app beside the floor: MessageBird at 0 ms upstream, $RATE start+check/s for ${SECONDS_PER_RUN}s each, two rounds"
curl -fs -o /dev/null -H 'content-type: application/json' -d '{"latency_ms": 0}' "$FAKE/_fake/knobs"
mb=(VERIFY_PROVIDER=messagebird MESSAGEBIRD_ACCESS_KEY=test_fake_messagebird_key MESSAGEBIRD_API_URL="$FAKE")
declare -A side=()
for name in "app, SQLite" "app, Redis" "floor, 0 trips" "floor, 5 trips" "floor, 4 trips"; do
  port=$PORT; PORT=$((PORT + 1))
  case "$name" in
    "app, SQLite") env "${mb[@]}" DATA_DIR="$DATA_ROOT/side-sqlite" LEPTOS_SITE_ADDR="127.0.0.1:$port" ./target/release/phone-verify & ;;
    "app, Redis") env "${mb[@]}" DATA_DIR="$DATA_ROOT/side-redis" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
      REDIS_URL="redis://127.0.0.1:$REDIS_PORT" REDIS_PREFIX="side-$(date +%s):" ./target/release/phone-verify & ;;
    "floor, 0 trips") ./target/release/floor "127.0.0.1:$port" "$FAKE" & ;;
    *) ./target/release/floor "127.0.0.1:$port" "$FAKE" "redis://127.0.0.1:$REDIS_PORT" "${name:7:1}" & ;;
  esac
  pids+=($!)
  wait_for "http://127.0.0.1:$port/"
  side[$name]=$port
done
for round in 1 2; do
  declare -A added=()
  for name in "app, SQLite" "floor, 0 trips" "app, Redis" "floor, 5 trips" "floor, 4 trips"; do
    line=$(./target/release/upstream paired-messagebird "$FAKE" "$RATE" "$SECONDS_PER_RUN" \
      "http://127.0.0.1:${side[$name]}" 2>/dev/null | grep -E 'added|errors [1-9]')
    printf '   round %s, %-17s%s\n' "$round" "$name:" "${line#"${line%%added*}"}"
    added[$name]=$(sed -E 's/.*added p50 ([0-9.-]+) ms.*/\1/' <<<"$line")
  done
  awk -v s="${added[app, SQLite]}" -v f0="${added[floor, 0 trips]}" -v r="${added[app, Redis]}" -v f5="${added[floor, 5 trips]}" \
    'BEGIN { printf "   round %s, the app'\''s own work at p50: SQLite %.2f ms, Redis %.2f ms\n", '"$round"', s - f0, r - f5 }'
done
