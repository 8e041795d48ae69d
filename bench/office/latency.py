#!/usr/bin/env python3
"""Matches logged register flips with the events they caused, at the edge's journal and at the office.

For each flip (device, transition, time) the first event of the detector-state rule with the same
device and transition, journaled/received after the flip, is its effect. Prints p50, p99 and max for
the office hazard row (alarm_events.received_at, written in the hazard's transaction) and, as the
baseline measured in the same run, for the edge's journal commit (edge_events.created_at).
"""
import argparse
import json
import sqlite3


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flips", required=True)
    ap.add_argument("--office", required=True)
    ap.add_argument("--edge", required=True)
    ap.add_argument("--poll", type=float, required=True)
    a = ap.parse_args()
    flips = [json.loads(l) for l in open(a.flips) if l.strip()]
    office = sqlite3.connect(f"file:{a.office}?mode=ro", uri=True)
    edge = sqlite3.connect(f"file:{a.edge}?mode=ro", uri=True)
    rule = "residual_current_detector_alarm"
    office_rows = office.execute(
        "SELECT device_id, transition, received_at, hazard_id FROM alarm_events WHERE rule = ? ORDER BY received_at", (rule,)).fetchall()
    edge_rows = []
    for (event, created) in edge.execute("SELECT event, created_at FROM edge_events ORDER BY sequence"):
        e = json.loads(event)
        if e.get("rule") == rule:
            edge_rows.append((e["device"], e["transition"], created))
    def match(rows, f, after):
        for r in rows:
            if r[0] == f["device"] and r[1] == f["transition"] and r[2] >= after:
                return r
        return None
    office_lat, edge_lat, missing, unlinked = [], [], 0, 0
    for i, f in enumerate(flips):
        nxt = next((g["time"] for g in flips[i + 1:] if g["device"] == f["device"]), float("inf"))
        o = match(office_rows, f, f["time"])
        e = match(edge_rows, f, f["time"])
        if o is None or o[2] >= nxt or e is None:
            missing += 1
            continue
        if o[3] is None:
            unlinked += 1
        office_lat.append(o[2] - f["time"])
        edge_lat.append(e[2] - f["time"])
    fmt = lambda xs, p: f"{percentile(xs, p) * 1000:.0f} ms"
    print(f"flips: {len(flips)}, matched: {len(office_lat)}, missing: {missing}, events without hazard: {unlinked}")
    print(f"register change -> hazard row at the office: p50 {fmt(office_lat, 50)}, p99 {fmt(office_lat, 99)}, max {fmt(office_lat, 100)}"
          f"  (goal p99 <= poll {a.poll:.1f} s + 500 ms = {a.poll * 1000 + 500:.0f} ms)")
    print(f"baseline, register change -> edge journal commit: p50 {fmt(edge_lat, 50)}, p99 {fmt(edge_lat, 99)}, max {fmt(edge_lat, 100)}")
    if office_lat and edge_lat:
        print(f"ratio office/edge: p50 {percentile(office_lat, 50) / max(percentile(edge_lat, 50), 1e-9):.2f}x, "
              f"p99 {percentile(office_lat, 99) / max(percentile(edge_lat, 99), 1e-9):.2f}x; "
              f"uplink adds p50 {(percentile(office_lat, 50) - percentile(edge_lat, 50)) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
