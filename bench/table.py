#!/usr/bin/env python3
"""Prints compare.sh's table from hearth-bench JSON results.

Usage: table.py RESULTS_DIR SERVER...   (files RESULTS_DIR/<server>-<id>.json)"""
import json
import os
import sys

# (label, scenario id, JSON key, scale, higher is better)
ROWS = [
    ("idle KiB/conn (rooms of 100)", "idle", "kib_per_conn", 1, False),
    ("idle clients registered", "idle", "registered", 1, True),
    ("registrations/s (100 in flight)", "reg", "registrations_per_s", 1, True),
    ("server CPU ms / registration", "reg", "server_cpu_ms_per_reg", 1, False),
    ("fanout saturation deliveries/s", "fansat", "deliveries_per_s", 1, True),
    ("fanout saturation msgs sent/s", "fansat", "sent_per_s", 1, True),
    ("fanout sat. p99 ms", "fansat", "latency_p99_ms", 1, False),
    ("fanout saturation loss %", "fansat", "loss_pct", 1, False),
    ("fanout sat. tool CPU s", "fansat", "tool_cpu_s", 1, False),
    ("fanout 200 msg/s p50 ms", "fanp99", "latency_p50_ms", 1, False),
    ("fanout 200 msg/s p99 ms", "fanp99", "latency_p99_ms", 1, False),
    ("fanout 200 msg/s loss %", "fanp99", "loss_pct", 1, False),
    ("DM 2000 msg/s p50 ms", "dm", "latency_p50_ms", 1, False),
    ("DM 2000 msg/s p99 ms", "dm", "latency_p99_ms", 1, False),
    ("DM loss %", "dm", "loss_pct", 1, False),
    ("DM server CPU us / message", "dm", "cpu_us_per_msg", 1, False),
    ("history messages stored first", "history", "filled", 1, True),
    ("history fill msgs/s (1 client)", "history", "fill_per_s", 1, True),
    ("history: DB caught up after fill s", "history", "caught_up_s", 1, False),
    ("CHATHISTORY LATEST 100 p50 ms", "history", "latency_p50_ms", 1, False),
    ("CHATHISTORY LATEST 100 p99 ms", "history", "latency_p99_ms", 1, False),
    ("SASL logins/s", "login", "logins_per_s", 1, True),
    ("room of 20, 1 msg/s: CPU us/msg TCP", "chat", "server_cpu_us_per_msg", 1, False),
    ("room of 20, 1 msg/s: CPU us/msg WS", "chatws", "server_cpu_us_per_msg", 1, False),
    ("room of 20, 1 msg/s: p50 ms TCP", "chat", "latency_p50_ms", 1, False),
    ("room of 20, 1 msg/s: p50 ms WS", "chatws", "latency_p50_ms", 1, False),
]


def load(d, server, sid):
    try:
        with open(os.path.join(d, f"{server}-{sid}.json")) as f:
            r = json.load(f)
    except (OSError, ValueError):
        return {}
    # Server CPU per message sent (derived, so every server is measured alike).
    if isinstance(r.get("server_cpu_s"), (int, float)) and r.get("sent"):
        r["cpu_us_per_msg"] = r["server_cpu_s"] * 1e6 / r["sent"]
    return r


# Issue 12's targets: (label, scenario id, key, which peer, limit, higher is better).
# "best" is the best of the peers in this run; "hybrid" is ircd-hybrid.
TARGETS = [
    ("server CPU per DM <= 2x ircd-hybrid", "dm", "cpu_us_per_msg", "hybrid", 2.0, False),
    ("DM p50 <= ircd-hybrid", "dm", "latency_p50_ms", "hybrid", 1.0, False),
    ("idle KiB per connection <= ircd-hybrid", "idle", "kib_per_conn", "hybrid", 1.0, False),
    ("fan-out p99 at 200 msg/s <= 0.5x best peer", "fanp99", "latency_p99_ms", "best", 0.5, False),
    ("fan-out saturation >= 2x best peer", "fansat", "deliveries_per_s", "best", 2.0, True),
]


def targets(d, servers):
    peers = [s for s in servers if s != "hearth"]
    if "hearth" not in servers or not peers:
        return
    print()
    print("targets (issue 12), history ON:")
    for label, sid, key, peer, limit, higher in TARGETS:
        h = load(d, "hearth", sid).get(key)
        if peer == "best":
            pv = [(load(d, p, sid).get(key), p) for p in peers]
            pv = [(v, p) for v, p in pv if isinstance(v, (int, float))]
            v, name = (max(pv) if higher else min(pv)) if pv else (None, "-")
        else:
            name = peer
            v = load(d, peer, sid).get(key) if peer in peers else None
        if not isinstance(h, (int, float)) or not isinstance(v, (int, float)) or not v:
            print(f"  {label}: not measured (hearth {fmt(h)}, {name} {fmt(v)})")
            continue
        ratio = h / v
        met = ratio >= limit if higher else ratio <= limit
        print(f"  {label}: hearth {fmt(h)} vs {name} {fmt(v)} = {ratio:.2f}x -> {'MET' if met else 'NOT MET'}")


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.0f}" if abs(v) >= 100 else f"{v:.2f}"
    return str(v)


def websocket(d):
    """Issue 12's Pi figure: CPU per message in a quiet room, WebSocket vs TCP."""
    tcp = load(d, "hearth", "chat").get("server_cpu_us_per_msg")
    ws = load(d, "hearth", "chatws").get("server_cpu_us_per_msg")
    if isinstance(tcp, (int, float)) and isinstance(ws, (int, float)) and tcp:
        print(f"\nHearth, a room of 20 at 1 msg/s: server CPU per message {fmt(ws)} us over WebSocket"
              f" vs {fmt(tcp)} us over TCP = {ws / tcp:.2f}x")


def onoff(d):
    """Hearth with history on vs off (issue 3), from hearth-nohist results."""
    runs = (
        ("fansat50", "sat. 50 clients", ("sent_per_s", "deliveries_per_s", "latency_p99_ms", "server_cpu_s")),
        ("fansat", "sat. 500 clients", ("sent_per_s", "deliveries_per_s", "latency_p99_ms", "server_cpu_s")),
        ("fanp99", "fanout 200 msg/s", ("latency_p50_ms", "latency_p99_ms", "server_cpu_s")),
        ("dm", "DM 2000 msg/s", ("latency_p50_ms", "latency_p99_ms", "server_cpu_s")),
    )
    names = {"sent_per_s": "msgs/s (stored when ON)", "deliveries_per_s": "deliveries/s",
             "latency_p50_ms": "p50 ms", "latency_p99_ms": "p99 ms", "server_cpu_s": "server CPU s"}
    head = ["Hearth, 5 senders / pairs as above", "history ON", "history OFF", "ON/OFF"]
    rows = [head]
    for sid, what, keys in runs:
        on, off = load(d, "hearth", sid), load(d, "hearth-nohist", sid)
        if not on or not off:
            continue
        for key in keys:
            a, b = on.get(key), off.get(key)
            ratio = f"{a / b:.2f}x" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else "-"
            rows.append([f"{what}: {names[key]}", fmt(a), fmt(b), ratio])
    if len(rows) == 1:
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    print()
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main():
    d, servers = sys.argv[1], sys.argv[2:]
    peers = [s for s in servers if s != "hearth"]
    head = ["figure"] + servers + (["hearth/best peer"] if "hearth" in servers else [])
    rows = [head]
    for label, sid, key, scale, higher in ROWS:
        vals = {}
        for s in servers:
            r = load(d, s, sid)
            v = r.get(key)
            vals[s] = v * scale if isinstance(v, (int, float)) else None
        if all(v is None for v in vals.values()):
            continue
        row = [label] + [fmt(vals[s]) for s in servers]
        if "hearth" in servers:
            pv = [vals[p] for p in peers if vals[p] is not None]
            h = vals["hearth"]
            best = (max(pv) if higher else min(pv)) if pv else None
            row.append(f"{h / best:.2f}x" if h is not None and best else "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    onoff(d)
    websocket(d)
    targets(d, servers)
    failed = []
    for s in servers + ["hearth-nohist"]:
        for sid in ("idle", "reg", "fansat", "fanp99", "dm", "fansat50", "history", "login", "chat", "chatws"):
            r = load(d, s, sid)
            if r and not r.get("ok", True):
                failed.append(f"{s}/{sid}: {'; '.join(r.get('errors', []))[:200]}")
    if failed:
        print("\nfailures:")
        for f in failed:
            print("  " + f)


if __name__ == "__main__":
    main()
