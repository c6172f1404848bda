#!/usr/bin/env python3
"""Drive Hearth with a real third-party IRC client library: jaraco's `irc`
(PyPI package `irc`, version pinned in requirements.txt).

Creates a throw-away data directory and config, makes the accounts alice
and bob with `hearth user add --password-stdin`, starts the hearth binary
($HEARTH_BIN, default target/debug/hearth) on 127.0.0.1 port 0, connects two
`irc.client` connections on one Reactor and checks, as the library itself
parses and dispatches the server's lines:

  login (alice with the library's SASL PLAIN, bob with PASS account:password),
  registration, the configured default room, join, NAMES, channel PRIVMSG,
  private PRIVMSG (both ways), TOPIC set by the channel op and seen by the
  other member, CAP REQ after registration (server-time tag parsed by the
  library), a wrong password refused, QUIT seen by the remaining member, and
  finally SIGTERM -> exit status 0.

Everything is bounded by a global timeout (HEARTH_TP_TIMEOUT, default 45 s).
ERROR lines in hearth's log are printed as a note (a failure with
HEARTH_TP_STRICT_LOG=1).
Prints one line per check and a closing line
`third-party: N passed, N failed` (`, N skipped` when checks could not run).
Exits non-zero if anything failed.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

try:
    import irc
    import irc.client
except ImportError as exc:  # pragma: no cover - environment problem
    print(f"third-party: cannot import the `irc` library: {exc}", file=sys.stderr)
    print("third-party: 0 passed, 1 failed")
    sys.exit(2)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HEARTH_BIN = os.environ.get("HEARTH_BIN") or os.path.join(REPO, "target", "debug", "hearth")
GLOBAL_TIMEOUT = float(os.environ.get("HEARTH_TP_TIMEOUT", "45"))
STEP_TIMEOUT = 10.0
CHANNEL = "#thirdparty"
DEFAULT_ROOM = "#general"
PASSWORDS = {"alice": "alice-secret-pw", "bob": "bob-secret-pw"}

T0 = time.monotonic()
DEADLINE = T0 + GLOBAL_TIMEOUT


class CheckFailed(Exception):
    pass


class GlobalTimeout(Exception):
    pass


def log(msg):
    print(f"[{time.monotonic() - T0:6.2f}s] {msg}", flush=True)


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------
class Server:
    def __init__(self, binary, accounts):
        if not os.access(binary, os.X_OK):
            raise CheckFailed(f"hearth binary not found or not executable: {binary}")
        # Everything hearth writes (SQLite database) goes to a private temp dir.
        self.tmpdir = tempfile.mkdtemp(prefix="hearth-tp-")
        self.config = os.path.join(self.tmpdir, "hearth.toml")
        with open(self.config, "w") as f:
            f.write(
                f'data_dir = "{os.path.join(self.tmpdir, "data")}"\n'
                "[accounts]\n"
                'registration = "admin"\n'
                "require_login = true\n"
                # Cheap password hashing: a debug build hashes slowly, and the login
                # path is the same whatever the cost.
                "argon2_memory_kib = 1024\n"
                "argon2_iterations = 1\n"
                "[rooms]\n"
                f'default = ["{DEFAULT_ROOM}"]\n'
                # Private messages here test relaying, not chat requests (irssi.sh
                # shows those): anyone may write to anyone.
                "[dm]\n"
                'policy = "open"\n'
            )
        self.stderr_file = open(os.path.join(self.tmpdir, "hearth.stderr"), "wb")
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info")
        env.setdefault("NO_COLOR", "1")
        env.pop("HEARTH_CONFIG", None)
        self.proc = None
        for i, (name, password) in enumerate(accounts.items()):
            cmd = [binary, "-c", self.config, "user", "add", name, "--password-stdin"]
            if i == 0:
                cmd.insert(5, "--admin")
            try:
                r = subprocess.run(cmd, input=(password + "\n").encode(), capture_output=True,
                                   env=env, timeout=max(1.0, min(STEP_TIMEOUT, DEADLINE - time.monotonic())))
            except subprocess.TimeoutExpired:
                raise CheckFailed(f"`{' '.join(cmd)}` did not finish in time")
            if r.returncode != 0:
                raise CheckFailed(
                    f"`{' '.join(cmd)}` exited {r.returncode}: "
                    f"{(r.stdout + r.stderr).decode('utf-8', 'replace').strip()}"
                )
        self.proc = subprocess.Popen(
            [binary, "-c", self.config, "serve", "--listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr_file,
            env=env,
        )
        self.stdout_lines = []
        self.port = None
        ready = threading.Event()

        def reader():
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self.stdout_lines.append(line)
                m = re.match(r"^hearth: listening irc=127\.0\.0\.1:(\d+)(\s.*)?$", line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=reader, daemon=True).start()
        if not ready.wait(min(STEP_TIMEOUT, max(0.1, DEADLINE - time.monotonic()))) or self.port is None:
            rc = self.proc.poll()
            self.kill()
            raise CheckFailed(
                f"hearth did not print its listening line (exit={rc}, stdout={self.stdout_lines!r})"
            )
        log(f"hearth pid {self.proc.pid} listening on 127.0.0.1:{self.port}")

    def error_lines(self):
        """hearth's own ERROR log lines (tracing format: `<time> ERROR <target>: ...`)."""
        try:
            with open(self.stderr_file.name, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []
        return [l for l in lines if re.match(r"^\S+\s+ERROR\s", l)]

    def stderr_tail(self, n=40):
        try:
            with open(self.stderr_file.name, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no stderr)"

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def cleanup(self):
        self.kill()
        self.stderr_file.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


# --------------------------------------------------------------------------
# The clients: irc.client connections on one reactor, every event recorded
# --------------------------------------------------------------------------
class Client:
    def __init__(self, reactor, nick, port, password=None, sasl=False):
        self.nick = nick
        self.events = []  # irc.client.Event objects in arrival order
        self.raw = []  # raw lines from the server, for diagnostics
        self.disconnected = False
        self.conn = reactor.server()
        self.conn.add_global_handler("all_events", self._on_event)
        # sasl=True: the library's own SASL PLAIN (CAP LS / REQ sasl / AUTHENTICATE);
        # otherwise `password` goes out as PASS, which hearth reads as account:password.
        self.conn.connect(
            "127.0.0.1", port, nick,
            password=password,
            username=nick,
            ircname=f"{nick} (irc {irc_version()})",
            sasl_login=nick if sasl else None,
        )

    def _on_event(self, conn, event):
        # add_global_handler is reactor-wide in irc.client: keep only ours.
        if conn is not self.conn:
            return
        if event.type == "all_raw_messages":
            self.raw.append(event.arguments[0])
            return
        if event.type == "disconnect":
            self.disconnected = True
        self.events.append(event)

    def last_error(self):
        for line in reversed(self.raw):
            if " ERROR " in f" {line}" or re.match(r"^(@\S+ )?:\S+ (4\d\d|5\d\d|90[2-7]) ", line):
                return line
        return None

    def find(self, pred, start=0):
        for ev in self.events[start:]:
            if pred(ev):
                return ev
        return None


def irc_version():
    try:
        from importlib.metadata import version

        return version("irc")
    except Exception:
        return "?"


class Harness:
    def __init__(self, reactor):
        self.reactor = reactor

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._check_deadline()
            self.reactor.process_once(timeout=0.05)

    def wait_for(self, what, client, pred, start=0, timeout=STEP_TIMEOUT):
        """Process events until `pred` matches one of client's events."""
        end = min(time.monotonic() + timeout, DEADLINE)
        while True:
            ev = client.find(pred, start)
            if ev is not None:
                return ev
            if client.disconnected:
                raise CheckFailed(
                    f"{client.nick}: connection closed while waiting for {what}"
                    f" (last error line: {client.last_error()!r})"
                )
            self._check_deadline()
            if time.monotonic() >= end:
                raise CheckFailed(
                    f"{client.nick}: timed out after {timeout:.0f}s waiting for {what}"
                )
            self.reactor.process_once(timeout=0.05)

    @staticmethod
    def _check_deadline():
        if time.monotonic() >= DEADLINE:
            raise GlobalTimeout(f"global timeout of {GLOBAL_TIMEOUT:.0f}s exceeded")


def src_nick(ev):
    return getattr(ev.source, "nick", None) if ev.source is not None else None


def expect(cond, msg):
    if not cond:
        raise CheckFailed(msg)


# --------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------
def main():
    results = []  # (name, status, detail)
    server = None
    clients = []
    state = {}

    def check(name, fn, critical=False, always=False):
        if state.get("abort") and not always:
            results.append((name, "skipped", "an earlier critical check failed"))
            log(f"SKIP {name}")
            return
        try:
            fn()
            results.append((name, "passed", ""))
            log(f"ok   {name}")
        except (CheckFailed, GlobalTimeout, AssertionError, OSError, irc.client.IRCError) as exc:
            results.append((name, "failed", str(exc)))
            log(f"FAIL {name}: {exc}")
            if critical or isinstance(exc, GlobalTimeout):
                state["abort"] = True
        except Exception as exc:  # a bug in the test itself, or in the library's view of hearth
            results.append((name, "failed", f"{type(exc).__name__}: {exc}"))
            log(f"FAIL {name}: unexpected {type(exc).__name__}: {exc}")
            traceback.print_exc()
            state["abort"] = True

    reactor = irc.client.Reactor()
    h = Harness(reactor)
    alice_text = "hello #thirdparty from alice — héllo ☕"
    private_text = "psst bob, this one is only for you"
    reply_text = "got it alice"
    topic_text = "third-party clients welcome: irc.client"
    tagged_text = "this one should carry a server-time tag"
    quit_text = "bob is leaving now"

    def start_server():
        nonlocal server
        server = Server(HEARTH_BIN, PASSWORDS)

    def login_sasl():
        # The library's SASL PLAIN state machine is registered reactor-wide, so only
        # one connection may be in SASL at a time: alice completes before bob starts.
        a = Client(reactor, "alice", server.port, password=PASSWORDS["alice"], sasl=True)
        clients.append(a)
        state["a"] = a
        h.wait_for("RPL_SASLSUCCESS (903)", a,
                   lambda e: e.type in ("saslsuccess", "saslfail", "login_failed"))
        bad = a.find(lambda e: e.type in ("saslfail", "login_failed"))
        expect(bad is None, f"alice: SASL PLAIN failed: {bad}")
        ev = h.wait_for("RPL_LOGGEDIN (900)", a, lambda e: e.type == "loggedin")
        expect(ev.arguments[1:2] == ["alice"], f"alice: RPL_LOGGEDIN args {ev.arguments!r}")
        h.wait_for("RPL_WELCOME (001)", a, lambda e: e.type == "welcome")

    def login_pass():
        b = Client(reactor, "bob", server.port, password=f"bob:{PASSWORDS['bob']}")
        clients.append(b)
        state["b"] = b
        ev = h.wait_for("RPL_LOGGEDIN (900)", b, lambda e: e.type == "loggedin")
        expect(ev.arguments[1:2] == ["bob"], f"bob: RPL_LOGGEDIN args {ev.arguments!r}")
        h.wait_for("RPL_WELCOME (001)", b, lambda e: e.type == "welcome")

    def register():
        a, b = state["a"], state["b"]
        for c in (a, b):
            ev = h.wait_for("RPL_WELCOME (001)", c, lambda e: e.type == "welcome")
            expect(ev.target == c.nick, f"{c.nick}: 001 addressed to {ev.target!r}, expected {c.nick!r}")
            expect(c.conn.get_nickname() == c.nick, f"{c.nick}: library thinks its nick is {c.conn.get_nickname()!r}")
            h.wait_for("end of MOTD (376) or no MOTD (422)", c, lambda e: e.type in ("endofmotd", "nomotd"))
            # RPL_ISUPPORT was parsed by the library into its FeatureSet.
            network = getattr(c.conn.features, "network", None)
            expect(network == "Hearth", f"{c.nick}: ISUPPORT NETWORK parsed as {network!r}")
            expect(c.conn.features.prefix.get("@") == "o",
                   f"{c.nick}: ISUPPORT PREFIX parsed as {c.conn.features.prefix!r}")

    def default_room():
        a, b = state["a"], state["b"]
        for c in (a, b):
            h.wait_for(f"automatic JOIN {DEFAULT_ROOM} (configured [rooms] default)", c,
                       lambda e: e.type == "join" and src_nick(e) == c.nick and e.target == DEFAULT_ROOM)
        # alice was there first, so she sees bob arrive.
        h.wait_for(f"JOIN of bob in {DEFAULT_ROOM}", a,
                   lambda e: e.type == "join" and src_nick(e) == "bob" and e.target == DEFAULT_ROOM)

    def join():
        a, b = state["a"], state["b"]
        a.conn.join(CHANNEL)
        h.wait_for(f"own JOIN {CHANNEL}", a,
                   lambda e: e.type == "join" and src_nick(e) == "alice" and e.target == CHANNEL)
        h.wait_for(f"end of NAMES after own JOIN", a,
                   lambda e: e.type == "endofnames" and e.arguments and e.arguments[0] == CHANNEL)
        b.conn.join(CHANNEL)
        h.wait_for(f"own JOIN {CHANNEL}", b,
                   lambda e: e.type == "join" and src_nick(e) == "bob" and e.target == CHANNEL)
        h.wait_for(f"JOIN of bob in {CHANNEL}", a,
                   lambda e: e.type == "join" and src_nick(e) == "bob" and e.target == CHANNEL)
        h.wait_for(f"end of NAMES after own JOIN", b,
                   lambda e: e.type == "endofnames" and e.arguments and e.arguments[0] == CHANNEL)

    def names():
        a, b = state["a"], state["b"]
        for c in (a, b):
            start = len(c.events)
            c.conn.names([CHANNEL])
            h.wait_for("RPL_ENDOFNAMES (366)", c,
                       lambda e: e.type == "endofnames" and e.arguments and e.arguments[0] == CHANNEL, start)
            listed = set()
            for e in c.events[start:]:
                if e.type == "namreply" and len(e.arguments) >= 3 and e.arguments[1] == CHANNEL:
                    listed.update(e.arguments[2].split())
            expect(listed == {"@alice", "bob"},
                   f"{c.nick}: NAMES {CHANNEL} gave {sorted(listed)}, expected ['@alice', 'bob']")

    def channel_message():
        a, b = state["a"], state["b"]
        start = len(b.events)
        a.conn.privmsg(CHANNEL, alice_text)
        ev = h.wait_for("channel PRIVMSG from alice", b,
                        lambda e: e.type == "pubmsg" and e.target == CHANNEL, start)
        expect(src_nick(ev) == "alice", f"bob: channel message source {ev.source!r}, expected alice")
        expect(ev.arguments == [alice_text], f"bob: channel message text {ev.arguments!r}, expected {[alice_text]!r}")
        # Without echo-message the sender must not get its own message back.
        h.pump(0.2)
        echoed = a.find(lambda e: e.type == "pubmsg" and e.arguments == [alice_text])
        expect(echoed is None, f"alice got her own channel message echoed without echo-message: {echoed}")

    def private_message():
        a, b = state["a"], state["b"]
        start = len(b.events)
        a.conn.privmsg("bob", private_text)
        ev = h.wait_for("private PRIVMSG from alice", b, lambda e: e.type == "privmsg", start)
        expect(src_nick(ev) == "alice", f"bob: private message source {ev.source!r}, expected alice")
        expect(ev.target == "bob", f"bob: private message target {ev.target!r}, expected bob")
        expect(ev.arguments == [private_text], f"bob: private message text {ev.arguments!r}")
        start = len(a.events)
        b.conn.privmsg("alice", reply_text)
        ev = h.wait_for("private PRIVMSG reply from bob", a, lambda e: e.type == "privmsg", start)
        expect(src_nick(ev) == "bob" and ev.arguments == [reply_text],
               f"alice: reply was {ev.source!r} {ev.arguments!r}")

    def topic():
        a, b = state["a"], state["b"]
        start_b = len(b.events)
        a.conn.topic(CHANNEL, topic_text)
        ev = h.wait_for("TOPIC change by alice", b,
                        lambda e: e.type == "topic" and e.target == CHANNEL, start_b)
        expect(src_nick(ev) == "alice", f"bob: TOPIC source {ev.source!r}, expected alice")
        expect(ev.arguments == [topic_text], f"bob: TOPIC text {ev.arguments!r}, expected {[topic_text]!r}")
        h.wait_for("TOPIC change echoed to the setter", a,
                   lambda e: e.type == "topic" and e.target == CHANNEL and e.arguments == [topic_text])
        # And it is stored: bob queries it (RPL_TOPIC 332, RPL_TOPICWHOTIME 333).
        start_b = len(b.events)
        b.conn.topic(CHANNEL)
        ev = h.wait_for("RPL_TOPIC (332)", b, lambda e: e.type == "currenttopic", start_b)
        expect(ev.arguments == [CHANNEL, topic_text], f"bob: RPL_TOPIC args {ev.arguments!r}")
        ev = h.wait_for("RPL_TOPICWHOTIME (333)", b, lambda e: e.type == "topicinfo", start_b)
        expect(ev.arguments[:1] == [CHANNEL] and ev.arguments[1].split("!")[0] == "alice",
               f"bob: RPL_TOPICWHOTIME args {ev.arguments!r}")

    def topic_not_op():
        # bob is not a channel operator and the channel is +t: refused with 482.
        a, b = state["a"], state["b"]
        start_b = len(b.events)
        b.conn.topic(CHANNEL, "bob was here")
        ev = h.wait_for("ERR_CHANOPRIVSNEEDED (482)", b,
                        lambda e: e.type in ("chanoprivsneeded", "topic"), start_b)
        expect(ev.type == "chanoprivsneeded", f"bob (not op) could change the topic of a +t channel: {ev}")

    def cap_after_registration():
        a, b = state["a"], state["b"]
        start_b = len(b.events)
        b.conn.cap("REQ", "server-time")
        ev = h.wait_for("CAP ACK server-time", b, lambda e: e.type == "cap", start_b)
        expect(len(ev.arguments) >= 2 and ev.arguments[0] == "ACK"
               and ev.arguments[1].split() == ["server-time"],
               f"bob: CAP reply {ev.arguments!r}, expected ['ACK', 'server-time']")
        start_b = len(b.events)
        a.conn.privmsg(CHANNEL, tagged_text)
        ev = h.wait_for("tagged channel PRIVMSG", b,
                        lambda e: e.type == "pubmsg" and e.arguments == [tagged_text], start_b)
        tags = {t["key"]: t["value"] for t in (ev.tags or [])}
        expect("time" in tags, f"bob: message after CAP ACK server-time has tags {ev.tags!r}")
        expect(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", tags["time"] or ""),
               f"bob: server-time tag {tags['time']!r} is not YYYY-MM-DDThh:mm:ss.sssZ")

    def wrong_password():
        # Last login of the run: a failure delays later logins from this IP.
        m = Client(reactor, "mallory", server.port, password="bob:not-the-password")
        clients.append(m)
        ev = h.wait_for("ERR_PASSWDMISMATCH (464) or 001", m,
                        lambda e: e.type in ("passwdmismatch", "welcome", "loggedin"))
        expect(ev.type == "passwdmismatch", f"mallory: a wrong password got {ev.type}: {ev}")
        h.wait_for("the server closing the connection", m, lambda e: e.type == "disconnect")
        expect(m.find(lambda e: e.type == "welcome") is None, "mallory: registered despite a wrong password")

    def quit_seen():
        a, b = state["a"], state["b"]
        start_a = len(a.events)
        b.conn.quit(quit_text)
        ev = h.wait_for("QUIT of bob", a, lambda e: e.type == "quit" and src_nick(e) == "bob", start_a)
        expect(ev.arguments and quit_text in ev.arguments[0],
               f"alice: QUIT reason {ev.arguments!r}, expected to contain {quit_text!r}")
        h.wait_for("the server closing bob's connection", b, lambda e: e.type == "disconnect")
        start_a = len(a.events)
        a.conn.names([CHANNEL])
        h.wait_for("RPL_ENDOFNAMES (366)", a, lambda e: e.type == "endofnames", start_a)
        listed = set()
        for e in a.events[start_a:]:
            if e.type == "namreply" and len(e.arguments) >= 3:
                listed.update(e.arguments[2].split())
        expect(listed == {"@alice"}, f"alice: NAMES after bob quit gave {sorted(listed)}")

    def sigterm():
        expect(server is not None, "server never started")
        remaining = max(1.0, min(STEP_TIMEOUT, DEADLINE - time.monotonic() + 5))
        # Keep servicing alice's socket while hearth shuts down.
        server.proc.send_signal(signal.SIGTERM)
        end = time.monotonic() + remaining
        while server.proc.poll() is None and time.monotonic() < end:
            reactor.process_once(timeout=0.05)
        rc = server.proc.poll()
        expect(rc is not None, f"hearth did not exit within {remaining:.0f}s of SIGTERM")
        expect(rc == 0, f"hearth exited with status {rc} after SIGTERM, expected 0")
        a = state.get("a")
        if a is not None:
            h_end = time.monotonic() + 2
            while not a.disconnected and time.monotonic() < h_end:
                reactor.process_once(timeout=0.05)
            expect(a.disconnected, "alice's connection was not closed by the shutdown")

    try:
        check("hearth user add + hearth serve start, listening line printed", start_server, critical=True)
        check("alice logs in with the library's SASL PLAIN", login_sasl, critical=True)
        check("bob logs in with PASS account:password", login_pass, critical=True)
        check("both registered (001, ISUPPORT parsed by the library)", register, critical=True)
        check(f"both auto-joined the default room {DEFAULT_ROOM}", default_room)
        check(f"both join {CHANNEL}", join, critical=True)
        check("NAMES lists @alice and bob", names)
        check("channel PRIVMSG reaches the other member", channel_message)
        check("private PRIVMSG both ways", private_message)
        check("TOPIC set by the op is seen by the other", topic)
        check("TOPIC by a non-op on +t is refused", topic_not_op)
        check("CAP REQ server-time after registration", cap_after_registration)
        check("a wrong PASS password is refused with 464", wrong_password)
        check("QUIT is seen by the remaining member", quit_seen)
        check("SIGTERM shuts hearth down with status 0", sigterm, always=True)
    finally:
        failed = [r for r in results if r[1] == "failed"]
        if failed:
            print("\n--- failures ---", flush=True)
            for name, _, detail in failed:
                print(f"* {name}: {detail}")
            for c in clients:
                print(f"\n--- last raw lines received by {c.nick} ---")
                for line in c.raw[-30:]:
                    print(f"  {line}")
            if server is not None:
                print("\n--- hearth stderr (tail) ---")
                print(server.stderr_tail())
        if server is not None:
            errors = server.error_lines()
            if errors:
                # Not client-visible, so a note unless HEARTH_TP_STRICT_LOG=1.
                print(f"\nnote: hearth logged {len(errors)} ERROR line(s) during the run:")
                for line in errors[:20]:
                    print(f"  {line}")
                if os.environ.get("HEARTH_TP_STRICT_LOG") == "1":
                    results.append(("hearth logged no ERROR lines (HEARTH_TP_STRICT_LOG=1)", "failed",
                                    f"{len(errors)} ERROR line(s)"))
            server.cleanup()
        failed = [r for r in results if r[1] == "failed"]
        passed = sum(1 for r in results if r[1] == "passed")
        skipped = sum(1 for r in results if r[1] == "skipped")
        tail = f", {skipped} skipped" if skipped else ""
        print(f"(irc {irc_version()}, {time.monotonic() - T0:.1f}s)")
        print(f"third-party: {passed} passed, {len(failed)} failed{tail}", flush=True)
    return 1 if failed or skipped or not results else 0


def _alarm(signum, frame):
    # Last resort if the reactor is blocked somewhere the deadline checks can't see.
    raise GlobalTimeout(f"global timeout of {GLOBAL_TIMEOUT:.0f}s exceeded (alarm)")


def _terminated(signum, frame):
    # SIGTERM/SIGINT (e.g. from `timeout`): unwind so the finally blocks stop hearth.
    raise GlobalTimeout(f"terminated by signal {signum}")


if __name__ == "__main__":
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGTERM, _terminated)
    signal.signal(signal.SIGINT, _terminated)
    signal.alarm(int(GLOBAL_TIMEOUT) + 15)
    try:
        rc = main()
    except GlobalTimeout as exc:
        print(f"third-party: FAILED: {exc}", file=sys.stderr)
        print("third-party: 0 passed, 1 failed")
        rc = 1
    sys.exit(rc)
