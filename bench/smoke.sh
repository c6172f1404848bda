#!/usr/bin/env bash
# CI smoke run of the load generator against a fresh Hearth (a few seconds of
# every hearth-bench scenario with few clients, SASL login and CHATHISTORY
# included, and a room over WebSocket), then a graceful SIGTERM that must exit 0.
#
# Usage: bash bench/smoke.sh      (no root, no terminal, no network but 127.0.0.1)
# Environment:
#   SMOKE_CLIENTS=12    clients per scenario
#   SMOKE_DURATION=2    seconds of traffic per timed scenario
#   CARGO_TARGET_DIR    as for cargo (default <repo>/target)
# Prints `smoke: N passed, N failed` last; exits 1 if anything failed.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
CLIENTS=${SMOKE_CLIENTS:-12}
DURATION=${SMOKE_DURATION:-2}
PASSWORD=smoke-password
PASSED=0
FAILED=0
HEARTH_PID=""
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hearth-smoke.XXXXXX")

ok() { PASSED=$((PASSED + 1)); echo "smoke: ok   $*"; }
bad() { FAILED=$((FAILED + 1)); echo "smoke: FAIL $*"; }

finish() {
  if [[ -n "$HEARTH_PID" ]] && kill -0 "$HEARTH_PID" 2>/dev/null; then
    kill -KILL "$HEARTH_PID" 2>/dev/null
    wait "$HEARTH_PID" 2>/dev/null
    bad "hearth was still running at the end (killed)"
  fi
  if ((FAILED > 0)) && [[ -f "$TMP/hearth.log" ]]; then
    echo "smoke: last lines of the server log:"
    tail -20 "$TMP/hearth.log" | sed 's/^/  | /'
  fi
  rm -rf "$TMP"
  echo "smoke: $PASSED passed, $FAILED failed"
  if ((FAILED > 0)); then exit 1; fi
  exit 0
}
trap finish EXIT
trap 'bad "interrupted"; exit 1' INT TERM

# ------------------------------------------------------------------ build
echo "smoke: cargo build -p hearth -p hearth-bench"
if (cd "$ROOT" && cargo build -q -p hearth -p hearth-bench); then
  ok "build"
else
  bad "build"; exit 1
fi
HEARTH="$BIN_DIR/hearth"
BENCH="$BIN_DIR/hearth-bench"

# ------------------------------------------------------------------ config and account
cat >"$TMP/hearth.toml" <<EOF
data_dir = "data"

[server]
motd = "smoke"

[accounts]
require_login = false
argon2_memory_kib = 8
argon2_iterations = 1

[history]
enabled = true

[rooms]
default = []

[flood]
burst = 0

[limits]
max_per_ip = 0
sendq = 1048576

[timeouts]
shutdown_grace = 1
EOF
if printf '%s\n' "$PASSWORD" | "$HEARTH" --config "$TMP/hearth.toml" user add bench0 --password-stdin \
    >"$TMP/user.log" 2>&1; then
  ok "hearth user add bench0 --password-stdin"
else
  bad "hearth user add: $(tail -1 "$TMP/user.log")"; exit 1
fi

# ------------------------------------------------------------------ server
"$HEARTH" --config "$TMP/hearth.toml" serve --listen 127.0.0.1:0 --web-listen 127.0.0.1:0 >"$TMP/hearth.log" 2>&1 </dev/null &
HEARTH_PID=$!
ADDR=""
for _ in $(seq 1 100); do
  ADDR=$(sed -n 's/^hearth: listening irc=\(127\.0\.0\.1:[0-9]*\).*/\1/p' "$TMP/hearth.log" | head -1)
  [[ -n "$ADDR" ]] && break
  kill -0 "$HEARTH_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ -n "$ADDR" ]]; then
  ok "hearth serve listening on $ADDR"
else
  bad "hearth serve printed no 'hearth: listening irc=' line"; exit 1
fi

# ------------------------------------------------------------------ scenarios
echo "smoke: hearth-bench --server $ADDR smoke --clients $CLIENTS --duration $DURATION --accounts-ready"
timeout 45 "$BENCH" --server "$ADDR" --pid "$HEARTH_PID" --timeout 20 --json \
  --password "$PASSWORD" --accounts 1 \
  smoke --clients "$CLIENTS" --duration "$DURATION" --accounts-ready >"$TMP/bench.log" 2>&1
rc=$?
sed 's/^/  /' "$TMP/bench.log" | grep -v '^  {' || true
# One check per scenario, from the JSON line.
verdicts=$(tail -1 "$TMP/bench.log" | python3 -c '
import json, sys
try:
    d = json.loads(sys.stdin.read())
except ValueError:
    sys.exit(0)
for r in d.get("results", []):
    errs = "; ".join(r.get("errors", []))[:300]
    name = r.get("scenario", "?")
    if name == "fanout":
        name += " (saturation)" if r.get("rate") == 0 else " (%s msg/s)" % r.get("rate")
    print(("ok" if r.get("ok", True) else "FAIL") + " " + name + ((": " + errs) if errs else ""))
')
if [[ -z "$verdicts" ]]; then
  bad "hearth-bench smoke gave no results (exit status $rc)"
else
  while IFS= read -r v; do
    case $v in
      ok\ *) ok "scenario ${v#ok }" ;;
      *) bad "scenario ${v#FAIL }" ;;
    esac
  done <<<"$verdicts"
  grep -q '"scenario":"login"' <<<"$(tail -1 "$TMP/bench.log")" || bad "the login scenario did not run"
  grep -q '"scenario":"history"' <<<"$(tail -1 "$TMP/bench.log")" || bad "the history scenario did not run"
  if [[ $rc -ne 0 ]]; then bad "hearth-bench exited with status $rc"; fi
fi

# ------------------------------------------------------------------ over WebSocket
# The chat-rate figure's transport (compare.sh's chatws): a few clients in one room
# over IRC-over-WebSocket, every message delivered, CPU per message reported.
WEB=$(sed -n 's/^hearth: listening.* web=\(127\.0\.0\.1:[0-9]*\).*/\1/p' "$TMP/hearth.log" | head -1)
if [[ -z "$WEB" ]]; then
  bad "hearth serve printed no web= address for the WebSocket run"
else
  timeout 45 "$BENCH" --ws "ws://$WEB/irc" --pid "$HEARTH_PID" --timeout 20 --settle 0.2 --json \
    fanout --clients 5 --senders 4 --rate 8 --duration "$DURATION" --max-loss 0 >"$TMP/ws.log" 2>&1
  rc=$?
  if [[ $rc -eq 0 ]] && grep -q '"ok":true' <(tail -1 "$TMP/ws.log") \
      && grep -q '"server_cpu_us_per_msg"' <(tail -1 "$TMP/ws.log"); then
    ok "fanout over WebSocket ($WEB): every message delivered, CPU per message reported"
  else
    bad "fanout over WebSocket (status $rc): $(tail -3 "$TMP/ws.log" | tr '\n' ' ' | cut -c1-300)"
  fi
fi

# ------------------------------------------------------------------ graceful stop
if kill -0 "$HEARTH_PID" 2>/dev/null; then
  kill -TERM "$HEARTH_PID"
  for _ in $(seq 1 100); do kill -0 "$HEARTH_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$HEARTH_PID" 2>/dev/null; then
    bad "hearth did not stop within 10 s of SIGTERM"
  else
    wait "$HEARTH_PID"; rc=$?
    HEARTH_PID=""
    if [[ $rc -eq 0 ]]; then ok "hearth stopped on SIGTERM with status 0"; else bad "hearth exited with status $rc after SIGTERM"; fi
  fi
else
  wait "$HEARTH_PID"; rc=$?
  HEARTH_PID=""
  bad "hearth died during the run (status $rc)"
fi
