#!/usr/bin/env python3
"""Drive the real WeeChat client (Debian package `weechat-headless`) against Hearth:
MONITOR through WeeChat's notify list, and two WeeChat instances logged in to one
account at once (phone and laptop) sharing one nick.

Standard library only. Hearth gets a throw-away data dir and config; the accounts
wcuser (both WeeChats), rawbot and watcher (raw-socket peers in this script) are made
with `hearth user add --password-stdin`.

WeeChat runs headless: commands go in through its fifo plugin, and what it shows is
read back from its logger plugin's files (one per buffer, flushed at once).

    HEARTH_BIN   hearth binary (default: target/debug/hearth)
    WEECHAT      weechat-headless binary (default: weechat-headless)
    HEARTH_TP_WEECHAT_TIMEOUT  overall bound in seconds (default: 60)

Prints a line per check and a closing line `weechat: N passed, N failed`. Exits 0
only if every check passed; 2 if weechat-headless or hearth is missing.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HEARTH_BIN = os.environ.get("HEARTH_BIN", os.path.join(REPO, "target", "debug", "hearth"))
WEECHAT = os.environ.get("WEECHAT", "weechat-headless")
DEADLINE = time.monotonic() + float(os.environ.get("HEARTH_TP_WEECHAT_TIMEOUT", "60"))
TOKEN = f"t{os.getpid()}"
CHANNEL = "#tp"
START = time.monotonic()

passed = 0
failed = 0
procs = []  # every process this script started, ended by pid in cleanup()


def log(msg):
    print(f"[{time.monotonic() - START:5.1f}s] {msg}", flush=True)


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        log(f"ok   {name}")
    else:
        failed += 1
        log(f"FAIL {name}{': ' + detail if detail else ''}")
    return ok


def wait_until(pred, limit=10.0):
    end = min(time.monotonic() + limit, DEADLINE)
    while True:
        if pred():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.1)


class Peer:
    """A raw-socket IRC client (no library), for the other side of each check."""

    def __init__(self, port, nick, password):
        self.nick = nick
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.lines = []
        self.send(f"PASS {nick}:{password}")
        self.send(f"NICK {nick}")
        self.send(f"USER {nick} 0 * :{nick} (raw peer)")
        if not self.wait(lambda l: re.search(r" (376|422) ", l)):
            raise RuntimeError(f"{nick} did not register: {self.lines[-5:]}")

    def send(self, line):
        self.sock.sendall((line + "\r\n").encode())

    def pump(self, timeout=0.1):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, BlockingIOError):
            return
        except OSError:
            return
        if not data:
            return
        self.buf += data
        while b"\r\n" in self.buf:
            line, self.buf = self.buf.split(b"\r\n", 1)
            text = line.decode("utf-8", "replace")
            if text.startswith("PING "):
                self.send("PONG " + text[5:])
            self.lines.append(text)

    def wait(self, pred, limit=10.0):
        """Waits for a line matching `pred` that arrives from now on."""
        seen = len(self.lines)
        end = min(time.monotonic() + limit, DEADLINE)
        while time.monotonic() < end:
            self.pump()
            for line in self.lines[seen:]:
                if pred(line):
                    return line
            seen = len(self.lines)
        return None

    def quiet_for(self, seconds, pred):
        """True when no line matching `pred` arrives within `seconds`."""
        return self.wait(pred, seconds) is None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class WeeChat:
    """One weechat-headless process with its own home; fifo in, logger files out."""

    def __init__(self, tmp, name, port, password):
        self.home = os.path.join(tmp, name)
        os.makedirs(self.home)
        self.fifo = os.path.join(self.home, "fifo")
        self.logs = os.path.join(self.home, "logs")
        commands = ";".join(
            [
                f"/set fifo.file.path {self.fifo}",
                f"/set logger.file.path {self.logs}",
                "/set logger.file.flush_delay 0",
                f"/server add hearth 127.0.0.1/{port} -notls -sasl_mechanism=plain "
                f"-sasl_username=wcuser -sasl_password={password} -nicks=wcuser -username=wcuser",
                "/connect hearth",
            ]
        )
        self.out = open(os.path.join(tmp, f"{name}.out"), "w")
        self.proc = subprocess.Popen(
            [WEECHAT, "--dir", self.home, "--run-command", commands],
            stdin=subprocess.DEVNULL,
            stdout=self.out,
            stderr=subprocess.STDOUT,
        )
        procs.append(self.proc)

    def command(self, text):
        """Runs `text` (e.g. "/join #x") in WeeChat's current buffer."""
        with open(self.fifo, "w") as f:
            f.write(f"*{text}\n")

    def log_text(self, buffer):
        """What WeeChat logged for `buffer` (e.g. "irc.server.hearth"), or ""."""
        try:
            with open(os.path.join(self.logs, f"{buffer}.weechatlog"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def shows(self, buffer, needle, limit=10.0):
        return wait_until(lambda: needle in self.log_text(buffer), limit)

    def quit(self, reason):
        self.command(f"/quit {reason}")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_hearth(tmp):
    conf = os.path.join(tmp, "hearth.toml")
    with open(conf, "w") as f:
        f.write(
            f'data_dir = "{tmp}/data"\n'
            "[accounts]\n"
            'registration = "admin"\n'
            "require_login = true\n"
            # Cheap password hashing (debug build); the login path is the same.
            "argon2_memory_kib = 1024\n"
            "argon2_iterations = 1\n"
            "[rooms]\n"
            "default = []\n"
            # Private messages here test sessions, not chat requests (irssi.sh shows
            # those): anyone may write to anyone.
            "[dm]\n"
            'policy = "open"\n'
        )
    env = dict(os.environ, NO_COLOR="1")
    env.pop("HEARTH_CONFIG", None)
    passwords = {}
    for acct in ("wcuser", "rawbot", "watcher"):
        pw = f"{acct}-pw-{os.getpid()}"
        passwords[acct] = pw
        r = subprocess.run(
            [HEARTH_BIN, "-c", conf, "user", "add", acct, "--password-stdin"],
            input=pw + "\n",
            text=True,
            capture_output=True,
            timeout=30,
            env=env,
        )
        if r.returncode != 0:
            raise RuntimeError(f"hearth user add {acct}: {r.stdout}{r.stderr}")
    out = open(os.path.join(tmp, "hearth.out"), "w+")
    err = open(os.path.join(tmp, "hearth.err"), "w")
    env.setdefault("RUST_LOG", "info")
    proc = subprocess.Popen(
        [HEARTH_BIN, "-c", conf, "serve", "--listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=err,
        env=env,
    )
    procs.append(proc)

    def port():
        out.seek(0)
        m = re.search(r"^hearth: listening irc=127\.0\.0\.1:(\d+)", out.read(), re.M)
        return int(m.group(1)) if m else None

    if not wait_until(lambda: port() is not None or proc.poll() is not None, 10) or port() is None:
        raise RuntimeError("hearth did not print its listening line")
    return proc, port(), passwords


def run(tmp):
    hearth, port, pw = start_hearth(tmp)
    check(f"hearth starts (port {port})", True)

    # --- MONITOR through WeeChat's notify list --------------------------------------
    laptop = WeeChat(tmp, "laptop", port, pw["wcuser"])
    if not check(
        "weechat #1 logs in with SASL and registers as wcuser",
        laptop.shows("irc.server.hearth", "Welcome to the Hearth IRC Network wcuser!", 15),
    ):
        return
    check("ISUPPORT advertises MONITOR", laptop.shows("irc.server.hearth", "MONITOR=100", 5))
    # WeeChat sends `MONITOR + rawbot` when the server advertises MONITOR.
    laptop.command("/notify add rawbot hearth")
    check("/notify add: MONITOR + answers offline (731)", laptop.shows("irc.server.hearth", "notify: rawbot is offline"))
    rawbot = Peer(port, "rawbot", pw["rawbot"])
    check(
        "notify: rawbot connecting is announced (730)",
        laptop.shows("irc.server.hearth", "notify: rawbot (~rawbot@127.0.0.1) has connected"),
    )
    watcher = Peer(port, "watcher", pw["watcher"])
    watcher.send("MONITOR + wcuser")
    check("raw MONITOR + wcuser: online (730)", watcher.wait(lambda l: " 730 watcher " in l and "wcuser!" in l) is not None)

    # --- a second WeeChat on the same account ---------------------------------------
    phone = WeeChat(tmp, "phone", port, pw["wcuser"])
    ok = phone.shows("irc.server.hearth", "Welcome to the Hearth IRC Network wcuser!", 15)
    server_log = phone.log_text("irc.server.hearth")
    check(
        "weechat #2, same account: attached as wcuser, no 433",
        ok and "already in use" not in server_log and "wcuser1" not in server_log,
        server_log[-800:],
    )
    check("the attach is not a new sign-on for MONITOR", watcher.quiet_for(0.5, lambda l: " 730 " in l or " 731 " in l))

    laptop.command(f"/join {CHANNEL}")
    check(f"JOIN from weechat #1 shows in weechat #1 ({CHANNEL})", laptop.shows(f"irc.hearth.{CHANNEL}", f"has joined {CHANNEL}"))
    check(f"... and in weechat #2, the other session", phone.shows(f"irc.hearth.{CHANNEL}", f"has joined {CHANNEL}"))

    rawbot.send(f"JOIN {CHANNEL}")
    rawbot.wait(lambda l: " 366 " in l)
    rawbot.send(f"PRIVMSG {CHANNEL} :channel hello {TOKEN}")
    check("a channel message reaches weechat #1", laptop.shows(f"irc.hearth.{CHANNEL}", f"channel hello {TOKEN}"))
    check("... and weechat #2", phone.shows(f"irc.hearth.{CHANNEL}", f"channel hello {TOKEN}"))

    rawbot.send(f"PRIVMSG wcuser :private hello {TOKEN}")
    check("a private message to the nick reaches weechat #1", laptop.shows("irc.hearth.rawbot", f"private hello {TOKEN}"))
    check("... and weechat #2", phone.shows("irc.hearth.rawbot", f"private hello {TOKEN}"))

    laptop.command(f"/msg rawbot reply from laptop {TOKEN}")
    got = rawbot.wait(lambda l: f"PRIVMSG rawbot :reply from laptop {TOKEN}" in l)
    check("/msg typed in weechat #1 reaches rawbot", got is not None and got.startswith(":wcuser!"))
    check("rawbot gets it once", rawbot.quiet_for(0.5, lambda l: f"reply from laptop {TOKEN}" in l))
    check(
        "weechat #2 shows what weechat #1 sent (echo to the other session)",
        phone.shows("irc.hearth.rawbot", f"wcuser\treply from laptop {TOKEN}"),
    )

    # --- sessions leave: the nick quits with the last one ---------------------------
    phone.quit(f"phone off {TOKEN}")
    check(
        "weechat #2 /quit: others see no QUIT and no 731",
        rawbot.quiet_for(1.0, lambda l: " QUIT " in l) and watcher.quiet_for(0.2, lambda l: " 731 " in l),
    )
    rawbot.send(f"PRIVMSG {CHANNEL} :still there {TOKEN}")
    check("weechat #1 carries on in the channel", laptop.shows(f"irc.hearth.{CHANNEL}", f"still there {TOKEN}"))

    rawbot.send("QUIT :bye")
    rawbot.close()
    check("notify: rawbot quitting is announced (731)", laptop.shows("irc.server.hearth", "notify: rawbot has quit"))

    laptop.quit(f"laptop off {TOKEN}")
    check(
        "weechat #1 /quit, the last session: MONITOR says wcuser is offline (731)",
        watcher.wait(lambda l: re.search(r" 731 watcher :?wcuser$", l)) is not None,
        f"watcher saw: {watcher.lines[-5:]}",
    )
    watcher.close()

    hearth.send_signal(signal.SIGTERM)
    try:
        rc = hearth.wait(timeout=10)
        check("SIGTERM shuts hearth down with status 0", rc == 0, f"exit status {rc}")
    except subprocess.TimeoutExpired:
        check("SIGTERM shuts hearth down with status 0", False, "still running 10s after SIGTERM")


def cleanup(tmp):
    for p in procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    if shutil.which(WEECHAT) is None:
        print(f"weechat: '{WEECHAT}' not found", file=sys.stderr)
        return 2
    if not os.access(HEARTH_BIN, os.X_OK):
        print(f"weechat: hearth binary not found or not executable: {HEARTH_BIN}", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="hearth-weechat.")
    try:
        run(tmp)
    except Exception as e:  # a broken step is one failed check, with the reason
        check("run completes", False, repr(e))
    if failed:
        for name in ("hearth.err", "laptop.out", "phone.out"):
            path = os.path.join(tmp, name)
            if os.path.exists(path):
                print(f"--- {name} (tail) ---")
                with open(path, errors="replace") as f:
                    print("".join(f.readlines()[-20:]))
    cleanup(tmp)
    version = subprocess.run([WEECHAT, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"(weechat-headless {version}, {time.monotonic() - START:.0f}s)")
    print(f"weechat: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
