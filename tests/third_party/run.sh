#!/usr/bin/env bash
# Run Hearth against real third-party IRC clients:
#   1. python_irc_client.py — jaraco's `irc` library from PyPI (always runs)
#   2. irssi.sh             — the irssi terminal client under tmux (skipped,
#                             with a message, only if irssi/tmux cannot be
#                             installed)
#   3. weechat_sessions.py  — two WeeChat clients (weechat-headless) on one
#                             account, and MONITOR through WeeChat's notify
#                             list (skipped, with a message, only if
#                             weechat-headless cannot be installed)
#
# Usage: bash tests/third_party/run.sh
#   HEARTH_BIN  use this hearth binary instead of building one with cargo
#   CARGO_TARGET_DIR is honoured for the build and the default binary path.
#
# Sets up (idempotently) a venv in target/third-party-venv with the pinned
# requirements, and irssi + tmux + weechat-headless through apt-get when they
# are missing.
# Exits non-zero if any run fails. Last line:
#   third-party-total: N passed, N failed[, N skipped]
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
VENV="$REPO/target/third-party-venv"
REQS="$HERE/requirements.txt"
LOGDIR="$(mktemp -d "${TMPDIR:-/tmp}/hearth-third-party.XXXXXX")"
trap 'rm -rf "$LOGDIR"' EXIT

say() { echo "third-party: $*"; }
T0=$SECONDS

# ------------------------------------------------------------------ binary
if [ -z "${HEARTH_BIN:-}" ]; then
    say "building hearth (cargo build -p hearth)"
    if ! (cd "$REPO" && cargo build -p hearth); then
        say "FAILED: cargo build -p hearth"
        echo "third-party-total: 0 passed, 1 failed"
        exit 1
    fi
    HEARTH_BIN="$TARGET_DIR/debug/hearth"
fi
if [ ! -x "$HEARTH_BIN" ]; then
    say "FAILED: hearth binary not found or not executable: $HEARTH_BIN"
    echo "third-party-total: 0 passed, 1 failed"
    exit 1
fi
export HEARTH_BIN
say "using $HEARTH_BIN"

# ------------------------------------------------------------------ venv
make_venv() {
    python3 -m venv "$VENV" >/dev/null 2>&1 && [ -x "$VENV/bin/python" ]
}
if [ ! -x "$VENV/bin/python" ]; then
    say "creating venv $VENV"
    rm -rf "$VENV"
    if ! make_venv; then
        # Debian's python3 needs python3-venv for ensurepip.
        if command -v apt-get >/dev/null 2>&1; then
            rm -rf "$VENV"
            { DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv \
                || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv; }; } >"$LOGDIR/apt-venv.log" 2>&1
        fi
        rm -rf "$VENV"
        if ! make_venv; then
            say "FAILED: could not create a venv with python3 -m venv"
            echo "third-party-total: 0 passed, 1 failed"
            exit 1
        fi
    fi
fi
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$REQS" | awk '{print $1}')"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
    say "pip installing $(grep -E '^irc==' "$REQS") and its pinned dependencies into the venv"
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQS"; then
        say "FAILED: pip install -r $REQS"
        echo "third-party-total: 0 passed, 1 failed"
        exit 1
    fi
    echo "$WANT" >"$STAMP"
fi

# ------------------------------------------------------------------ irssi + tmux
IRSSI_OK=1
SKIP_REASON=""
if ! command -v irssi >/dev/null 2>&1 || ! command -v tmux >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        say "installing irssi and tmux with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install -y irssi tmux >"$LOGDIR/apt.log" 2>&1; then
            apt-get update >>"$LOGDIR/apt.log" 2>&1
            apt-get install -y irssi tmux >>"$LOGDIR/apt.log" 2>&1
        fi
        if ! command -v irssi >/dev/null 2>&1 || ! command -v tmux >/dev/null 2>&1; then
            tail -n 5 "$LOGDIR/apt.log" | sed 's/^/  apt: /'
            SKIP_REASON="apt-get install -y irssi tmux failed"
        fi
    else
        SKIP_REASON="irssi/tmux missing and apt-get is unavailable or not root"
    fi
    [ -n "$SKIP_REASON" ] && IRSSI_OK=0
fi

# ------------------------------------------------------------------ weechat
WEECHAT_OK=1
WEECHAT_SKIP=""
if ! command -v weechat-headless >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        say "installing weechat-headless with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install -y weechat-headless >"$LOGDIR/apt-weechat.log" 2>&1; then
            apt-get update >>"$LOGDIR/apt-weechat.log" 2>&1
            apt-get install -y weechat-headless >>"$LOGDIR/apt-weechat.log" 2>&1
        fi
        if ! command -v weechat-headless >/dev/null 2>&1; then
            tail -n 5 "$LOGDIR/apt-weechat.log" | sed 's/^/  apt: /'
            WEECHAT_SKIP="apt-get install -y weechat-headless failed"
        fi
    else
        WEECHAT_SKIP="weechat-headless missing and apt-get is unavailable or not root"
    fi
    [ -n "$WEECHAT_SKIP" ] && WEECHAT_OK=0
fi

# ------------------------------------------------------------------ runs
# counts LOGFILE -> "passed failed skipped" from the run's closing line
counts() {
    local line
    line="$(grep -E '^[A-Za-z-]+: [0-9]+ passed, [0-9]+ failed' "$1" | tail -n1)"
    if [ -z "$line" ]; then
        echo "0 1 0"
        return
    fi
    local p f s
    p="$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")"
    f="$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")"
    s=0
    grep -qE '[0-9]+ skipped' <<<"$line" && s="$(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$line")"
    echo "$p $f $s"
}

TOTAL_P=0
TOTAL_F=0
TOTAL_S=0
RC=0

echo
echo "=== python irc library ($(grep -E '^irc==' "$REQS")) ==="
t=$SECONDS
timeout -s TERM -k 10 90 "$VENV/bin/python" -u "$HERE/python_irc_client.py" </dev/null 2>&1 | tee "$LOGDIR/python.log"
PY_RC=${PIPESTATUS[0]}
read -r p f s <<<"$(counts "$LOGDIR/python.log")"
[ "$PY_RC" -ne 0 ] && [ "$f" -eq 0 ] && f=1
TOTAL_P=$((TOTAL_P + p)); TOTAL_F=$((TOTAL_F + f)); TOTAL_S=$((TOTAL_S + s))
say "python irc client: exit $PY_RC in $((SECONDS - t))s"
[ "$PY_RC" -ne 0 ] && RC=1

echo
echo "=== irssi in tmux ==="
if [ "$IRSSI_OK" -eq 1 ]; then
    t=$SECONDS
    PYTHON="$VENV/bin/python" timeout -s TERM -k 10 120 bash "$HERE/irssi.sh" </dev/null 2>&1 | tee "$LOGDIR/irssi.log"
    IR_RC=${PIPESTATUS[0]}
    read -r p f s <<<"$(counts "$LOGDIR/irssi.log")"
    [ "$IR_RC" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    TOTAL_P=$((TOTAL_P + p)); TOTAL_F=$((TOTAL_F + f)); TOTAL_S=$((TOTAL_S + s))
    say "irssi: exit $IR_RC in $((SECONDS - t))s"
    [ "$IR_RC" -ne 0 ] && RC=1
else
    say "irssi: SKIPPED ($SKIP_REASON)"
    TOTAL_S=$((TOTAL_S + 1))
fi

echo
echo "=== weechat-headless: two sessions on one account, MONITOR ==="
if [ "$WEECHAT_OK" -eq 1 ]; then
    t=$SECONDS
    timeout -s TERM -k 10 120 "$VENV/bin/python" -u "$HERE/weechat_sessions.py" </dev/null 2>&1 | tee "$LOGDIR/weechat.log"
    WC_RC=${PIPESTATUS[0]}
    read -r p f s <<<"$(counts "$LOGDIR/weechat.log")"
    [ "$WC_RC" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    TOTAL_P=$((TOTAL_P + p)); TOTAL_F=$((TOTAL_F + f)); TOTAL_S=$((TOTAL_S + s))
    say "weechat: exit $WC_RC in $((SECONDS - t))s"
    [ "$WC_RC" -ne 0 ] && RC=1
else
    say "weechat: SKIPPED ($WEECHAT_SKIP)"
    TOTAL_S=$((TOTAL_S + 1))
fi

echo
if [ "$RC" -eq 0 ]; then
    say "all runs passed in $((SECONDS - T0))s"
else
    say "FAILED (see above) after $((SECONDS - T0))s"
fi
if [ "$TOTAL_S" -gt 0 ]; then
    echo "third-party-total: $TOTAL_P passed, $TOTAL_F failed, $TOTAL_S skipped"
else
    echo "third-party-total: $TOTAL_P passed, $TOTAL_F failed"
fi
exit "$RC"
