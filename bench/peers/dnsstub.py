#!/usr/bin/env python3
"""A DNS responder for 127.0.0.1:53 that answers every query NXDOMAIN at once.

ircd-hybrid always looks up the client's hostname; with this stub (and a
resolv.conf naming 127.0.0.1) the lookup fails immediately instead of
timing out or leaving the machine. Exits after --seconds (bounded)."""
import socket
import sys
import time

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3600
addr = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, 53))
s.settimeout(1.0)
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        q, peer = s.recvfrom(4096)
    except socket.timeout:
        continue
    if len(q) < 12:
        continue
    # Same id, QR=1, opcode copied, RD copied, RA=1, RCODE=3 (NXDOMAIN);
    # echo the question section, no answers.
    flags = 0x8000 | (q[2] & 0x79) << 8 | 0x80 | 3
    resp = q[:2] + flags.to_bytes(2, "big") + q[4:6] + b"\0\0\0\0\0\0" + q[12:]
    s.sendto(resp, peer)
