#!/usr/bin/env python3
"""The plain-socket side of tests/third_party/irssi.sh (standard library only).

    irssi_peer.py PORT TOKEN [TIMEOUT_SECONDS]
    (password of the account rawbot in $HEARTH_TP_PEER_PASSWORD)

Logs in with PASS rawbot:PASSWORD and registers as `rawbot` on 127.0.0.1:PORT, joins #thirdparty and prints READY.
It watches irssiuser with MONITOR; when irssiuser comes online it writes to it
privately ("chat request from rawbot TOKEN"), which under Hearth's default
`[dm] policy = "request"` becomes a chat request: it expects 717 and, once irssi
answers with /quote ACCEPT rawbot, the NOTICE "irssiuser accepted your chat request".
When irssiuser joins, it sends  "hello irssi from rawbot TOKEN"  to the
channel. It then requires, from irssiuser:
  * a channel PRIVMSG  "hello rawbot from irssi TOKEN"
  * a private PRIVMSG  "private for rawbot TOKEN"
  * a QUIT whose reason contains TOKEN
and exits 0 once it has seen all three (1 on timeout or a broken connection).
Every line it receives is echoed to stdout as `<< line`, every line it sends
as `>> line`, and progress as `PEER: ...`.
"""

import os
import socket
import sys
import time

CHANNEL = "#thirdparty"
NICK = "rawbot"
IRSSI = "irssiuser"


def parse(line):
    """Minimal RFC 1459 parse: (tags, prefix, command, params)."""
    tags = prefix = None
    if line.startswith("@"):
        tags, _, line = line.partition(" ")
    if line.startswith(":"):
        prefix, _, line = line[1:].partition(" ")
    line = line.lstrip(" ")
    params = []
    while line:
        if line.startswith(":"):
            params.append(line[1:])
            break
        word, _, line = line.partition(" ")
        if word:
            params.append(word)
        line = line.lstrip(" ")
    command = params.pop(0).upper() if params else ""
    return tags, prefix, command, params


def nick_of(prefix):
    return (prefix or "").split("!", 1)[0]


def main():
    port = int(sys.argv[1])
    token = sys.argv[2]
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 40.0
    deadline = time.monotonic() + timeout

    want_chan = f"hello rawbot from irssi {token}"
    want_priv = f"private for rawbot {token}"
    greeting = f"hello irssi from rawbot {token}"
    request = f"chat request from rawbot {token}"

    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(0.2)

    def send(line):
        print(f">> {line}", flush=True)
        sock.sendall(line.encode("utf-8") + b"\r\n")

    password = os.environ.get("HEARTH_TP_PEER_PASSWORD", "")
    if password:
        print(f">> PASS {NICK}:<password>", flush=True)
        sock.sendall(f"PASS {NICK}:{password}\r\n".encode("utf-8"))
    send(f"NICK {NICK}")
    send(f"USER {NICK} 0 * :raw socket peer")

    buf = b""
    registered = joined = greeted = requested = accepted = False
    got_chan = got_priv = got_quit = False
    while True:
        if time.monotonic() > deadline:
            missing = [n for n, ok in (("registration", registered), ("own JOIN", joined),
                                       ("irssiuser JOIN", greeted), ("channel message", got_chan), ("chat request accepted", accepted),
                                       ("private message", got_priv), ("QUIT", got_quit)) if not ok]
            print(f"PEER: FAIL timed out after {timeout:.0f}s; still missing: {', '.join(missing)}", flush=True)
            return 1
        try:
            data = sock.recv(4096)
        except socket.timeout:
            continue
        if not data:
            print("PEER: FAIL server closed the connection", flush=True)
            return 1
        buf += data
        while b"\n" in buf:
            raw, buf = buf.split(b"\n", 1)
            line = raw.rstrip(b"\r").decode("utf-8", "replace")
            if not line:
                continue
            print(f"<< {line}", flush=True)
            _tags, prefix, cmd, params = parse(line)
            if cmd == "PING":
                send("PONG :" + (params[0] if params else ""))
            elif cmd == "001":
                registered = True
                send(f"JOIN {CHANNEL}")
            elif cmd == "366" and len(params) >= 2 and params[1] == CHANNEL and not joined:
                joined = True
                send(f"MONITOR + {IRSSI}")
                print("PEER: READY", flush=True)
            elif cmd == "730" and not requested and any(
                nick_of(t) == IRSSI for p in params[1:] for t in p.split(",")
            ):
                requested = True
                send(f"PRIVMSG {IRSSI} :{request}")
                print("PEER: sent chat request to irssiuser", flush=True)
            elif cmd == "717":
                print("PEER: chat request pending (717)", flush=True)
            elif cmd == "NOTICE" and params and "accepted your chat request" in params[-1]:
                accepted = True
                print("PEER: chat request accepted", flush=True)
            elif cmd == "JOIN" and nick_of(prefix) == IRSSI and params and params[0] == CHANNEL:
                greeted = True
                send(f"PRIVMSG {CHANNEL} :{greeting}")
                print("PEER: greeted irssiuser", flush=True)
            elif cmd == "PRIVMSG" and nick_of(prefix) == IRSSI and len(params) >= 2:
                target, text = params[0], params[1]
                if target == CHANNEL and text == want_chan:
                    got_chan = True
                    print("PEER: got channel message from irssiuser", flush=True)
                elif target == NICK and text == want_priv:
                    got_priv = True
                    print("PEER: got private message from irssiuser", flush=True)
            elif cmd == "QUIT" and nick_of(prefix) == IRSSI:
                got_quit = bool(params) and token in params[0]
                print(f"PEER: irssiuser quit ({'reason ok' if got_quit else 'reason without token'})", flush=True)
                if not got_quit:
                    return 1
            if got_chan and got_priv and got_quit and accepted:
                send("QUIT :done")
                print("PEER: OK", flush=True)
                return 0


if __name__ == "__main__":
    sys.exit(main())
