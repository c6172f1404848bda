#!/usr/bin/env bash
# Drive the real irssi client (Debian package `irssi`) against Hearth, inside
# a detached tmux session: send-keys types, capture-pane reads the screen.
# A plain-socket peer (irssi_peer.py, standard library only) sits in the
# same channel and talks to irssi both ways.
#
# Hearth gets a throw-away data dir and config; the accounts irssiuser and
# rawbot are made with `hearth user add --password-stdin`, and both log in
# with PASS account:password (irssi: -w).
#
#   HEARTH_BIN   hearth binary (default: target/debug/hearth)
#   PYTHON       python for the peer (default: python3)
#   HEARTH_TP_IRSSI_TIMEOUT  overall bound in seconds (default: 45)
#   HEARTH_TP_STRICT_LOG=1   fail if hearth logs an ERROR line (else a note)
#
# Prints a line per check and a closing line `irssi: N passed, N failed`.
# Exits 0 only if every check passed; 2 if irssi or tmux is missing.
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
HEARTH_BIN="${HEARTH_BIN:-$REPO/target/debug/hearth}"
PYTHON="${PYTHON:-python3}"
TOTAL_TIMEOUT="${HEARTH_TP_IRSSI_TIMEOUT:-45}"
CHANNEL='#thirdparty'
TOKEN="t$$x$RANDOM"
START=$SECONDS
DEADLINE=$((SECONDS + TOTAL_TIMEOUT))

for tool in irssi tmux "$PYTHON"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "irssi: '$tool' not found" >&2
        exit 2
    fi
done
if [ ! -x "$HEARTH_BIN" ]; then
    echo "irssi: hearth binary not found or not executable: $HEARTH_BIN" >&2
    exit 2
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/hearth-irssi.XXXXXX")"
TMUX_SOCK="$TMP/tmux.sock"
SESSION="hearth-irssi"
HEARTH_PID=""
PEER_PID=""
TMUX_PID=""
PASSED=0
FAILED=0
FAILED_NAMES=()

log() { printf '[%5ss] %s\n' "$((SECONDS - START))" "$*"; }
tm() { tmux -S "$TMUX_SOCK" "$@"; }
pane() { tm capture-pane -p -J -t "$SESSION" 2>/dev/null; }

pass() { PASSED=$((PASSED + 1)); log "ok   $1"; }
fail() {
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$1")
    log "FAIL $1${2:+: $2}"
}

cleanup() {
    # Only what this script started, by pid / by its private tmux socket.
    if [ -n "$TMUX_PID" ] || [ -S "$TMUX_SOCK" ]; then
        tm kill-server >/dev/null 2>&1 || true
        if [ -n "$TMUX_PID" ] && kill -0 "$TMUX_PID" 2>/dev/null; then
            kill "$TMUX_PID" 2>/dev/null || true
        fi
    fi
    if [ -n "$PEER_PID" ] && kill -0 "$PEER_PID" 2>/dev/null; then
        kill "$PEER_PID" 2>/dev/null || true
        wait "$PEER_PID" 2>/dev/null || true
    fi
    if [ -n "$HEARTH_PID" ] && kill -0 "$HEARTH_PID" 2>/dev/null; then
        kill -KILL "$HEARTH_PID" 2>/dev/null || true
        wait "$HEARTH_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

remaining() {
    local r=$((DEADLINE - SECONDS))
    [ "$r" -lt 1 ] && r=1
    echo "$r"
}

# wait_until SECONDS CMD...: poll CMD every 0.2 s, bounded by SECONDS and the
# overall deadline.
wait_until() {
    local limit=$1
    shift
    local end=$((SECONDS + limit))
    [ "$end" -gt "$DEADLINE" ] && end=$DEADLINE
    while ! "$@"; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.2
    done
}

pane_has() { pane | grep -qF -- "$1"; }
peer_log_has() { grep -qF -- "$1" "$TMP/peer.log" 2>/dev/null; }
peer_done() { ! kill -0 "$PEER_PID" 2>/dev/null; }
hearth_port() { sed -n 's/^hearth: listening irc=127\.0\.0\.1:\([0-9]\+\)\( .*\)\?\r\?$/\1/p' "$TMP/hearth.out" 2>/dev/null | head -n1; }
have_port() { [ -n "$(hearth_port)" ] || ! kill -0 "$HEARTH_PID" 2>/dev/null; }

dump_diagnostics() {
    echo "--- irssi screen (tmux capture-pane) ---"
    pane || echo "(no pane)"
    echo "--- raw peer log (tail) ---"
    tail -n 40 "$TMP/peer.log" 2>/dev/null || echo "(none)"
    echo "--- hearth stderr (tail) ---"
    tail -n 30 "$TMP/hearth.err" 2>/dev/null || echo "(none)"
}

finish() {
    local errors
    errors="$(grep -E '^[^ ]+ +ERROR ' "$TMP/hearth.err" 2>/dev/null)"
    if [ -n "$errors" ]; then
        # Not client-visible, so a note unless HEARTH_TP_STRICT_LOG=1.
        echo "note: hearth logged $(printf '%s\n' "$errors" | wc -l) ERROR line(s) during the run:"
        printf '%s\n' "$errors" | head -n 20 | sed 's/^/  /'
        if [ "${HEARTH_TP_STRICT_LOG:-}" = 1 ]; then
            fail "hearth logged no ERROR lines (HEARTH_TP_STRICT_LOG=1)"
        fi
    fi
    if [ "$FAILED" -gt 0 ]; then
        echo
        dump_diagnostics
    fi
    echo "(irssi $(irssi --version 2>/dev/null | awk '{print $2}'), tmux $(tmux -V | awk '{print $2}'), $((SECONDS - START))s)"
    echo "irssi: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}

# ---------------------------------------------------------------- hearth
CONF="$TMP/hearth.toml"
{
    echo "data_dir = \"$TMP/data\""
    echo '[accounts]'
    echo 'registration = "admin"'
    echo 'require_login = true'
    # Cheap password hashing (debug build); the login path is the same.
    echo 'argon2_memory_kib = 1024'
    echo 'argon2_iterations = 1'
    echo '[rooms]'
    echo 'default = ["#general"]'
} >"$CONF"
IRSSI_PW="irssi-pw-$RANDOM$RANDOM"
PEER_PW="rawbot-pw-$RANDOM$RANDOM"
unset HEARTH_CONFIG
for acct in irssiuser rawbot; do
    pw="$IRSSI_PW"
    [ "$acct" = rawbot ] && pw="$PEER_PW"
    if ! printf '%s\n' "$pw" | timeout 30 "$HEARTH_BIN" -c "$CONF" user add "$acct" --password-stdin >"$TMP/useradd.log" 2>&1; then
        fail "hearth user add $acct" "$(cat "$TMP/useradd.log")"
        finish
    fi
done
pass "hearth user add irssiuser, rawbot"

: >"$TMP/hearth.out"
NO_COLOR=1 RUST_LOG="${RUST_LOG:-info}" \
    "$HEARTH_BIN" -c "$CONF" serve --listen 127.0.0.1:0 --web-listen 127.0.0.1:0 >"$TMP/hearth.out" 2>"$TMP/hearth.err" </dev/null &
HEARTH_PID=$!
if wait_until 10 have_port && [ -n "$(hearth_port)" ]; then
    PORT="$(hearth_port)"
    pass "hearth starts (pid $HEARTH_PID, port $PORT)"
else
    fail "hearth starts" "no listening line; stdout: $(cat "$TMP/hearth.out")"
    finish
fi

# ---------------------------------------------------------------- raw peer
HEARTH_TP_PEER_PASSWORD="$PEER_PW" "$PYTHON" -u "$HERE/irssi_peer.py" "$PORT" "$TOKEN" "$(remaining)" >"$TMP/peer.log" 2>&1 </dev/null &
PEER_PID=$!
if wait_until 10 peer_log_has "PEER: READY"; then
    pass "raw socket peer registers and joins $CHANNEL"
else
    fail "raw socket peer registers and joins $CHANNEL"
    finish
fi

# ---------------------------------------------------------------- irssi
mkdir -p "$TMP/irssi-home"
# A fixed, wide terminal so lines do not wrap mid-token.
if ! TERM="${TERM:-xterm}" tm -f /dev/null new-session -d -s "$SESSION" -x 200 -y 50 \
    "irssi --home='$TMP/irssi-home' -c 127.0.0.1 -p '$PORT' -n irssiuser -w 'irssiuser:$IRSSI_PW'" </dev/null; then
    fail "tmux starts irssi"
    finish
fi
TMUX_PID="$(tm display-message -p '#{pid}' 2>/dev/null || true)"
IRSSI_PID="$(tm display-message -p -t "$SESSION" '#{pane_pid}' 2>/dev/null || true)"
log "tmux server pid ${TMUX_PID:-?}, irssi pid ${IRSSI_PID:-?}"

if wait_until 15 pane_has "Welcome to the Hearth IRC Network irssiuser"; then
    pass "irssi connects and registers (001 shown)"
else
    fail "irssi connects and registers (001 shown)"
    finish
fi

# ---------------------------------------------------------------- chat request
# Issue 9: "A real third-party client … shows a chat request and its acceptance
# readably." rawbot writes to irssiuser privately; under the default policy
# "request" that is held, and irssi (still on its status window) shows the 718
# numeric and the NOTICE saying how to answer.
if wait_until 10 peer_log_has "PEER: chat request pending (717)"; then
    pass "rawbot's first private message becomes a chat request (717)"
else
    fail "rawbot's first private message becomes a chat request (717)"
fi
if wait_until 10 pane_has "is messaging you, and you have user mode +g set" \
    && wait_until 5 pane_has "rawbot wants to chat with you privately" \
    && wait_until 5 pane_has "/quote ACCEPT rawbot"; then
    pass "irssi shows the request: 718 and the NOTICE saying how to answer"
else
    fail "irssi shows the request: 718 and the NOTICE saying how to answer"
fi
tm send-keys -t "$SESSION" -l "/quote ACCEPT rawbot"
tm send-keys -t "$SESSION" Enter
if wait_until 10 pane_has "rawbot can now write to you privately" \
    && wait_until 10 peer_log_has "PEER: chat request accepted"; then
    pass "/quote ACCEPT rawbot in irssi accepts; rawbot is told"
else
    fail "/quote ACCEPT rawbot in irssi accepts; rawbot is told"
fi
# The held message arrives in irssi's query window with rawbot.
tm send-keys -t "$SESSION" -l "/query rawbot"
tm send-keys -t "$SESSION" Enter
if wait_until 10 pane_has "chat request from rawbot $TOKEN"; then
    pass "the held message appears in irssi's query with rawbot"
else
    fail "the held message appears in irssi's query with rawbot"
fi
tm send-keys -t "$SESSION" -l "/window 1"
tm send-keys -t "$SESSION" Enter

tm send-keys -t "$SESSION" -l "/join $CHANNEL"
tm send-keys -t "$SESSION" Enter
# irssi prints "irssiuser [~user@host] has joined #thirdparty" and then the
# names list, in which rawbot (first joiner, so channel op) is "@rawbot".
if wait_until 10 pane_has "has joined $CHANNEL" && wait_until 5 pane_has "@rawbot"; then
    pass "irssi joins $CHANNEL and its names list shows @rawbot"
else
    fail "irssi joins $CHANNEL and its names list shows @rawbot"
fi

if wait_until 10 pane_has "hello irssi from rawbot $TOKEN"; then
    pass "raw peer's channel message appears in irssi"
else
    fail "raw peer's channel message appears in irssi"
fi

tm send-keys -t "$SESSION" -l "hello rawbot from irssi $TOKEN"
tm send-keys -t "$SESSION" Enter
if wait_until 10 peer_log_has "PEER: got channel message from irssiuser"; then
    pass "message typed in irssi reaches the raw peer in $CHANNEL"
else
    fail "message typed in irssi reaches the raw peer in $CHANNEL"
fi

tm send-keys -t "$SESSION" -l "/msg rawbot private for rawbot $TOKEN"
tm send-keys -t "$SESSION" Enter
if wait_until 10 peer_log_has "PEER: got private message from irssiuser"; then
    pass "/msg typed in irssi reaches the raw peer privately"
else
    fail "/msg typed in irssi reaches the raw peer privately"
fi

# Capture the screen before irssi exits, for the failure dump.
SCREEN_BEFORE_QUIT="$(pane)"
tm send-keys -t "$SESSION" -l "/quit leaving $TOKEN"
tm send-keys -t "$SESSION" Enter
if wait_until 10 peer_done; then
    wait "$PEER_PID"
    PEER_RC=$?
    PEER_PID=""
    if [ "$PEER_RC" -eq 0 ]; then
        pass "irssi /quit is seen by the raw peer"
    else
        fail "irssi /quit is seen by the raw peer" "peer exited $PEER_RC: $(grep '^PEER:' "$TMP/peer.log" | tail -n1)"
    fi
else
    fail "irssi /quit is seen by the raw peer" "peer still waiting"
fi

# ---------------------------------------------------------------- shutdown
kill -TERM "$HEARTH_PID"
hearth_gone() { ! kill -0 "$HEARTH_PID" 2>/dev/null; }
if wait_until 10 hearth_gone; then
    wait "$HEARTH_PID"
    RC=$?
    HEARTH_PID=""
    if [ "$RC" -eq 0 ]; then
        pass "SIGTERM shuts hearth down with status 0"
    else
        fail "SIGTERM shuts hearth down with status 0" "exit status $RC"
    fi
else
    fail "SIGTERM shuts hearth down with status 0" "still running 10s after SIGTERM"
fi

if [ "$FAILED" -gt 0 ] && [ -n "${SCREEN_BEFORE_QUIT:-}" ]; then
    echo "--- irssi screen just before /quit ---"
    printf '%s\n' "$SCREEN_BEFORE_QUIT"
fi
finish
