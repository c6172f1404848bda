#!/usr/bin/env bash
# Profiles Hearth under one hearth-bench scenario: the server pinned to one core,
# the tool to the other, `perf record` (software cpu-clock, DWARF call graphs) on
# the server while the traffic runs. Prints a flat summary (self time by symbol)
# and a caller summary (inclusive time by symbol); the raw data stays in the
# run directory for `perf report -i`.
#
# Usage: bench/profile.sh dm|fanout|fansat [extra hearth-bench args]
#   dm       250 pairs, 2,000 msg/s       (as compare.sh)
#   fanout   500 clients, 200 msg/s       (as compare.sh's fanp99)
#   fansat   500 clients, saturation      (as compare.sh's fansat)
# Environment: HEARTH_BIN (default target/release/hearth), BENCH_BIN,
#   HEARTH_CONFIG (default bench/hearth.toml), DURATION (10), RUN_DIR
#   (/tmp/hearth-profile), TOOL_CPU=0 SERVER_CPU=1, PROFILE=server|tool (which
#   process is recorded: the server, or hearth-bench itself, to see whether the
#   load tool limits a figure; none: no recording, only the tool's JSON line, to
#   compare two builds without perf's overhead).
# Needs `perf` (Debian: linux-perf) and a release build with debug info
# (the workspace's release profile keeps `debug = 1`).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/release"
HEARTH_BIN=${HEARTH_BIN:-"$BIN_DIR/hearth"}
BENCH_BIN=${BENCH_BIN:-"$BIN_DIR/hearth-bench"}
HEARTH_CONFIG=${HEARTH_CONFIG:-"$ROOT/bench/hearth.toml"}
RUN=${RUN_DIR:-/tmp/hearth-profile}
DURATION=${DURATION:-10}
TOOL_CPU=${TOOL_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
what=${1:?usage: bench/profile.sh dm|fanout|fansat [hearth-bench args]}
shift

case $what in
  dm) args=(dm --pairs 250 --rate 2000 --duration "$DURATION" --max-loss 100) ;;
  fanout) args=(fanout --clients 500 --senders 5 --rate 200 --duration "$DURATION" --max-loss 100) ;;
  fansat) args=(fanout --clients 500 --senders 5 --rate 0 --duration "$DURATION" --max-loss 100) ;;
  *) echo "profile: unknown scenario $what" >&2; exit 2 ;;
esac

rm -rf "$RUN"; mkdir -p "$RUN"
sed "s#@RUN@#$RUN#g; s#@PORT@#0#g" "$HEARTH_CONFIG" >"$RUN/hearth.toml"
ulimit -n 65536 2>/dev/null || true
(cd "$RUN" && exec taskset -c "$SERVER_CPU" "$HEARTH_BIN" --config hearth.toml serve --listen 127.0.0.1:0) \
  >"$RUN/out.log" 2>&1 </dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/^hearth: listening irc=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$RUN/out.log" | head -1)
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "$port" ]] || { echo "profile: hearth did not start (see $RUN/out.log)" >&2; exit 1; }

# Registration and joins take a few seconds; record only the traffic.
taskset -c "$TOOL_CPU" "$BENCH_BIN" --server "127.0.0.1:$port" --pid "$pid" --json "${args[@]}" "$@" \
  >"$RUN/bench.log" 2>&1 &
bench=$!
if [[ "${PROFILE:-server}" == none ]]; then
  wait $bench || true
  tail -1 "$RUN/bench.log"
  exit 0
fi
sleep "${WARMUP:-4}"
recorded=$pid
[[ "${PROFILE:-server}" == tool ]] && recorded=$bench
perf record -e cpu-clock -F 2000 --call-graph dwarf,16384 -p "$recorded" -o "$RUN/perf.data" \
  -- sleep "$((DURATION - 2))" >"$RUN/perf.log" 2>&1 || true
wait $bench || true
tail -1 "$RUN/bench.log"
echo "== self time (top 40)"
perf report -i "$RUN/perf.data" --no-children --sort symbol --stdio -q -g none 2>/dev/null \
  | grep -v '^$' | head -40
echo "== inclusive time (top 60)"
perf report -i "$RUN/perf.data" --children --sort symbol --stdio -q -g none 2>/dev/null \
  | grep -v '^$' | head -60
