#!/usr/bin/env bash
# Runs the same hearth-bench scenarios against InspIRCd, ngIRCd, ircd-hybrid
# and Hearth in one go, and prints one table: a row per figure, a column per
# server, and Hearth's ratio to the best peer.
#
# Usage: bench/compare.sh                 (full run, ~10 minutes)
#        QUICK=1 bench/compare.sh         (smoke-sized run, ~2 minutes)
# Environment:
#   SERVERS="inspircd ngircd hybrid hearth"  which servers to run
#   QUICK=1               fewer clients, shorter scenarios
#   DURATION=10           seconds of traffic per timed scenario
#   RUN_DIR=/tmp/hearth-bench-run   configs, logs and JSON results
#   PEERS_DIR=/tmp/hearth-bench-peers   where ircd-hybrid is unpacked
#   HEARTH_BIN=<target>/release/hearth  skip building Hearth, use this binary
#   HEARTH_CONFIG=bench/hearth.toml   Hearth's config (copied into the run dir,
#                          so its relative data_dir lands there)
#   HEARTH_SERVE_ARGS=""   extra arguments after `hearth serve --listen ADDR`
#   HEARTH_PASSWORD=benchpass  password of the bench accounts (>= 8 chars)
#   HEARTH_ACCOUNTS=20     accounts bench0..bench<N-1>, made with
#                          `hearth user add NAME --password-stdin`; only the
#                          login and history scenarios log in (SASL PLAIN),
#                          everything else runs without SASL as for the peers
#   HISTORY_FILL=1000000   messages stored into one room (through the server)
#                          before CHATHISTORY LATEST 100 is timed
#   HEARTH_HISTORY_OFF=1   also run the fanout and dm scenarios against Hearth
#                          with `[history] enabled = false` (0: skip)
#   TOOL_CPU=0 SERVER_CPU=1   cores for taskset
#   SETTLE_BETWEEN=3      seconds between two scenarios, so deferred work of one
#                          (batched history inserts) does not land in the next
#   SCENARIOS="idle reg fansat fanp99 dm fansat50 login history chat chatws"
#                          which scenarios to run (a subset for quick profiling
#                          runs); chat = a room of 20 at 1 msg/s over TCP (every
#                          server), chatws = the same over WebSocket (Hearth)
#   CHAT_DURATION=30       seconds of the chat scenarios
# Nothing is left running: every server is stopped by its pid (SIGTERM, then
# SIGKILL after 5 s) after its scenarios and on exit.
# Needs root (apt-get, a mount namespace for ircd-hybrid's resolver, and
# dropping to the unprivileged user `benchirc` that runs every server).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS_CONF="$ROOT/bench/peers"
RUN=${RUN_DIR:-/tmp/hearth-bench-run}
PEERS=${PEERS_DIR:-/tmp/hearth-bench-peers}
SERVERS=${SERVERS:-"inspircd ngircd hybrid hearth"}
TOOL_CPU=${TOOL_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
BIN_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/release"
HEARTH_BIN=${HEARTH_BIN:-"$BIN_DIR/hearth"}
HEARTH_CONFIG=${HEARTH_CONFIG:-"$ROOT/bench/hearth.toml"}
HEARTH_PASSWORD=${HEARTH_PASSWORD:-benchpass}
HEARTH_ACCOUNTS=${HEARTH_ACCOUNTS:-20}
HEARTH_HISTORY_OFF=${HEARTH_HISTORY_OFF:-1}
RUN_USER=benchirc
SCENARIOS=${SCENARIOS:-"idle reg fansat fanp99 dm fansat50 login history chat chatws"}

if [[ -n "${QUICK:-}" ]]; then
  DURATION=${DURATION:-3}
  CHAT_DURATION=${CHAT_DURATION:-5}
  IDLE_CLIENTS=1000; REG_CLIENTS=300; FAN_CLIENTS=100; DM_PAIRS=50; TIMEOUT=60
  HISTORY_FILL=${HISTORY_FILL:-20000}
else
  DURATION=${DURATION:-10}
  CHAT_DURATION=${CHAT_DURATION:-30}
  IDLE_CLIENTS=10000; REG_CLIENTS=2000; FAN_CLIENTS=500; DM_PAIRS=250; TIMEOUT=180
  HISTORY_FILL=${HISTORY_FILL:-1000000}
fi

log() { echo "compare: $*" >&2; }

# 10,000 idle clients plus the tool's own sockets; raised for every server alike.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---------------------------------------------------------------- installs
install_peers() {
  local need=()
  [[ " $SERVERS " == *" inspircd "* ]] && ! command -v inspircd >/dev/null && need+=(inspircd)
  [[ " $SERVERS " == *" ngircd "* ]] && ! command -v ngircd >/dev/null && need+=(ngircd)
  [[ " $SERVERS " == *" hybrid "* ]] && ! [[ -f /usr/lib/x86_64-linux-gnu/libltdl.so.7 ]] && need+=(libltdl7)
  if ((${#need[@]})); then
    log "installing ${need[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  # ircd-hybrid conflicts with ngircd as a package: unpack it instead.
  if [[ " $SERVERS " == *" hybrid "* && ! -x "$PEERS/hybrid/usr/sbin/ircd-hybrid" ]]; then
    log "unpacking ircd-hybrid into $PEERS/hybrid"
    mkdir -p "$PEERS" && chmod 755 "$PEERS"
    (cd "$PEERS" && rm -f ircd-hybrid_*.deb && apt-get download ircd-hybrid >/dev/null 2>&1 \
      && dpkg-deb -x ircd-hybrid_*.deb hybrid)
  fi
  id "$RUN_USER" >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin "$RUN_USER"
}

# ---------------------------------------------------------------- servers
SERVER_PID=""; PORT=""; WEB_PORT=""; EXTRA_PIDS=()

# An array, not a function: `"${AS_USER[@]}" cmd &` is one process whose pid
# is $! (a backgrounded function would be a subshell with another pid).
AS_USER=(setpriv --reuid="$RUN_USER" --regid="$RUN_USER" --clear-groups)

render() { # template dest port
  sed "s#@RUN@#$(dirname "$2")#g; s#@PORT@#$3#g" "$1" >"$2"
  chown "$RUN_USER" "$2"
}

wait_port() { # port pid
  for _ in $(seq 1 100); do
    kill -0 "$2" 2>/dev/null || return 1
    ss -ltnH "sport = :$1" | grep -q . && return 0
    sleep 0.1
  done
  return 1
}

start_server() { # name -> SERVER_PID, PORT; returns 1 if unavailable
  local name=$1 dir="$RUN/$1"
  rm -rf "$dir"; mkdir -p "$dir"; chown "$RUN_USER" "$dir"
  case $name in inspircd) PORT=6681 ;; ngircd) PORT=6682 ;; hybrid) PORT=6683 ;; *) PORT="" ;; esac
  if [[ -n "$PORT" ]] && ss -ltnH "sport = :$PORT" | grep -q .; then
    log "SKIP $name: port $PORT is already in use (a stale server?)"; return 1
  fi
  echo bench >"$dir/motd.txt"
  case $name in
    inspircd)
      PORT=6681
      render "$PEERS_CONF/inspircd.conf" "$dir/inspircd.conf" $PORT
      "${AS_USER[@]}" taskset -c "$SERVER_CPU" inspircd --config "$dir/inspircd.conf" --nofork --nopid \
        >"$dir/out.log" 2>&1 &
      SERVER_PID=$! ;;
    ngircd)
      PORT=6682
      render "$PEERS_CONF/ngircd.conf" "$dir/ngircd.conf" $PORT
      "${AS_USER[@]}" taskset -c "$SERVER_CPU" ngircd --nodaemon --config "$dir/ngircd.conf" \
        >"$dir/out.log" 2>&1 &
      SERVER_PID=$! ;;
    hybrid)
      PORT=6683
      render "$PEERS_CONF/ircd-hybrid.conf" "$dir/ircd.conf" $PORT
      echo "nameserver 127.0.0.1" >"$dir/resolv.conf"
      # The stub resolver needs port 53; it gets only that capability.
      setpriv --reuid="$RUN_USER" --regid="$RUN_USER" --clear-groups \
        --inh-caps +net_bind_service --ambient-caps +net_bind_service \
        /usr/bin/python3 "$PEERS_CONF/dnsstub.py" 3600 >"$dir/dns.log" 2>&1 &
      EXTRA_PIDS+=($!)
      mkdir -p /usr/lib/ircd-hybrid   # mount point for the unpacked modules
      # Private mount namespace: the compiled-in module path and
      # /etc/resolv.conf point at our copies, nothing else changes.
      unshare -m -- sh -c "mount --bind '$PEERS/hybrid/usr/lib/ircd-hybrid' /usr/lib/ircd-hybrid \
        && mount --bind '$dir/resolv.conf' /etc/resolv.conf \
        && exec setpriv --reuid=$RUN_USER --regid=$RUN_USER --clear-groups taskset -c $SERVER_CPU \
           '$PEERS/hybrid/usr/sbin/ircd-hybrid' -foreground -configfile '$dir/ircd.conf' \
           -pidfile '$dir/ircd.pid' -logfile '$dir/ircd.log' -klinefile '$dir/kline.db' \
           -dlinefile '$dir/dline.db' -xlinefile '$dir/xline.db' -resvfile '$dir/resv.db'" \
        >"$dir/out.log" 2>&1 &
      SERVER_PID=$! ;;
    hearth)
      start_hearth "$dir" on || return 1 ;;
    hearth-nohist)
      start_hearth "$dir" off || return 1 ;;
  esac
  if ! wait_port "$PORT" "$SERVER_PID"; then
    log "$name did not start; see $dir/out.log"; tail -5 "$dir/out.log" >&2 || true
    stop_server; return 1
  fi
}

start_hearth() { # dir [history-off]
  local dir=$1 history=${2:-on}
  if [[ -z "${HEARTH_BIN_GIVEN:-}" && -z "${HEARTH_BUILT:-}" ]]; then
    log "building hearth (cargo build --release -p hearth)"
    if ! (cd "$ROOT" && cargo build --release -q -p hearth) >"$dir/build.log" 2>&1; then
      log "SKIP hearth: build failed (see $dir/build.log)"; return 1
    fi
    HEARTH_BUILT=1
  fi
  if [[ ! -x "$HEARTH_BIN" ]] || ! "$HEARTH_BIN" serve --help >/dev/null 2>&1; then
    log "SKIP hearth: $HEARTH_BIN has no 'serve' command yet"; return 1
  fi
  chmod o+rx "$dir"
  local conf="$dir/hearth.toml"
  render "$HEARTH_CONFIG" "$conf" 0
  if [[ $history == off ]]; then
    # The same config with `[history] enabled = false`.
    awk '/^\[/ { sec = $0 } sec == "[history]" && /^enabled *=/ { $0 = "enabled = false" } { print }' \
      "$conf" >"$conf.tmp" && mv "$conf.tmp" "$conf" && chown "$RUN_USER" "$conf"
    grep -q '^enabled = false' "$conf" || { log "SKIP hearth: no [history] enabled key in $conf"; return 1; }
  fi
  log "creating $HEARTH_ACCOUNTS bench accounts (default argon2 cost)"
  for i in $(seq 0 $((HEARTH_ACCOUNTS - 1))); do
    printf '%s\n' "$HEARTH_PASSWORD" \
      | (cd "$dir" && "${AS_USER[@]}" "$HEARTH_BIN" --config "$conf" user add "bench$i" --password-stdin) \
      >>"$dir/users.log" 2>&1 || {
      log "SKIP hearth: 'hearth user add bench$i' failed (see $dir/users.log)"; return 1; }
  done
  # shellcheck disable=SC2086
  (cd "$dir" && exec setpriv --reuid="$RUN_USER" --regid="$RUN_USER" --clear-groups \
    taskset -c "$SERVER_CPU" "$HEARTH_BIN" --config "$conf" serve --listen 127.0.0.1:0 ${HEARTH_SERVE_ARGS:-}) \
    >"$dir/out.log" 2>&1 </dev/null &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    PORT=$(sed -n 's/^hearth: listening irc=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/out.log" | head -1)
    WEB_PORT=$(sed -n 's/^hearth: listening.* web=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/out.log" | head -1)
    [[ -n "$PORT" ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  log "SKIP hearth: no 'hearth: listening irc=' line (see $dir/out.log)"
  stop_server; return 1
}

stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "server $SERVER_PID still running 5 s after SIGTERM: SIGKILL"
      kill -9 "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  for p in "${EXTRA_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  SERVER_PID=""; EXTRA_PIDS=()
}
trap stop_server EXIT

# ---------------------------------------------------------------- scenarios
bench() { # server scenario-id [AUTH=... BENCH_TIMEOUT=...] args...
  local server=$1 id=$2; shift 2
  [[ " $SCENARIOS " == *" $id "* ]] || return 0
  local out="$RUN/results/$server-$id.json"
  log "$server: $id: hearth-bench ${AUTH:+$AUTH }$*"
  # shellcheck disable=SC2086
  if taskset -c "$TOOL_CPU" "$BENCH" --server "127.0.0.1:$PORT" --pid "$SERVER_PID" \
      --timeout "${BENCH_TIMEOUT:-$TIMEOUT}" --json ${AUTH:-} "$@" >"$RUN/results/$server-$id.log" 2>&1; then :; else
    log "$server: $id reported failure (see $RUN/results/$server-$id.log)"
  fi
  tail -1 "$RUN/results/$server-$id.log" | grep '^{' >"$out" || echo '{}' >"$out"
  # Let work a server defers (Hearth stores history in batches, up to 5 s later;
  # the tool's --settle counts it) finish here, not inside the next scenario's CPU
  # figure; the same for every server.
  sleep "${SETTLE_BETWEEN:-3}"
}

run_server() { # name
  local s=$1
  # ngIRCd's listen backlog is 10: more concurrent connects overflow it.
  local idle_if=100 reg_if=100
  case $s in
    ngircd) idle_if=20; reg_if=20 ;;
    inspircd) idle_if=1000 ;;  # registrations complete in a once-a-second pass
  esac
  start_server "$s" || return 0
  if [[ $s == hearth-nohist ]]; then
    # Issue 3's "messages/s stored, history on vs off", and what storing
    # before delivering costs in latency: the same traffic runs as for
    # `hearth`, with history switched off.
    bench "$s" fansat fanout --clients "$FAN_CLIENTS" --senders 5 --rate 0 --duration "$DURATION" --max-loss 100
    bench "$s" fanp99 fanout --clients "$FAN_CLIENTS" --senders 5 --rate 200 --duration "$DURATION" --max-loss 100
    bench "$s" dm dm --pairs "$DM_PAIRS" --rate 2000 --duration "$DURATION" --max-loss 100
    bench "$s" fansat50 fanout --clients 50 --senders 5 --rate 0 --duration "$DURATION" --max-loss 100
    stop_server; return 0
  fi
  # Issue 12's Pi figure first, on the fresh server, so nothing an earlier scenario
  # left behind (Hearth storing 20,000 DMs, SQLite checkpointing) lands in it: a
  # room of 20 people at chat rate (1 msg/s, 19 of them taking turns), server CPU
  # per message at nanosecond resolution; for Hearth also over WebSocket (the web
  # client's transport).
  bench "$s" chat fanout --clients 20 --senders 19 --rate 1 --duration "$CHAT_DURATION" --max-loss 0
  if [[ $s == hearth && -n "$WEB_PORT" ]]; then
    bench "$s" chatws --ws "ws://127.0.0.1:$WEB_PORT/irc" \
      fanout --clients 20 --senders 19 --rate 1 --duration "$CHAT_DURATION" --max-loss 0
  fi
  # Everything but login/history runs without SASL, for Hearth as for the peers.
  bench "$s" idle idle --clients "$IDLE_CLIENTS" --room-size 100 --in-flight "$idle_if" --hold 3
  bench "$s" reg idle --clients "$REG_CLIENTS" --room-size 0 --in-flight "$reg_if" --hold 0.5
  bench "$s" fansat fanout --clients "$FAN_CLIENTS" --senders 5 --rate 0 --duration "$DURATION" --max-loss 100
  bench "$s" fanp99 fanout --clients "$FAN_CLIENTS" --senders 5 --rate 200 --duration "$DURATION" --max-loss 100
  bench "$s" dm dm --pairs "$DM_PAIRS" --rate 2000 --duration "$DURATION" --max-loss 100
  if [[ $s == hearth ]]; then
    bench "$s" fansat50 fanout --clients 50 --senders 5 --rate 0 --duration "$DURATION" --max-loss 100
    local sasl="--sasl --password $HEARTH_PASSWORD --accounts $HEARTH_ACCOUNTS"
    AUTH=$sasl bench "$s" login login --clients 200 --in-flight 50
    # CHATHISTORY LATEST 100 on a room holding $HISTORY_FILL messages, stored
    # through the server itself (1,000 per PING round trip).
    AUTH=$sasl BENCH_TIMEOUT=900 bench "$s" history history --fill "$HISTORY_FILL" --fill-chunk 1000 \
      --count 1000 --limit 100
  fi
  stop_server
}

# ---------------------------------------------------------------- main
[[ -n "${HEARTH_BIN:-}" && "$HEARTH_BIN" != "$BIN_DIR/hearth" ]] && HEARTH_BIN_GIVEN=1
install_peers
log "building hearth-bench"
(cd "$ROOT" && cargo build --release -q -p hearth-bench)
BENCH="$BIN_DIR/hearth-bench"
rm -rf "$RUN/results"; mkdir -p "$RUN/results"; chmod 755 "$RUN"
RUN_LIST=$SERVERS
if [[ " $SERVERS " == *" hearth "* && "$HEARTH_HISTORY_OFF" == 1 ]]; then RUN_LIST="$SERVERS hearth-nohist"; fi
for s in $RUN_LIST; do run_server "$s"; done
log "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r);" \
  "hearth $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')"

python3 "$ROOT/bench/table.py" "$RUN/results" $SERVERS | tee "$RUN/table.txt"
