#!/usr/bin/env python3
"""Writes the scenario CSVs for the default rule pack (Tests/FireWatchCoreTests/RulesScenarioTests.swift).

Deterministic (fixed seeds); rerun after changing a scenario: python3 Tests/scenarios/generate.py
Rows: time,device,channel,value. Times are epoch seconds, except normal_hours.csv (ISO-8601, +08:00).
"""
import datetime
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_796_000_000  # 2026-11-29T... UTC, any fixed start


def write(name, comment, rows):
    with open(os.path.join(HERE, name), "w") as f:
        f.write(f"# {comment}\n")
        f.write("time,device,channel,value\n")
        for t, d, c, v in rows:
            if isinstance(v, float):
                v = f"{v:.1f}"
            f.write(f"{t},{d},{c},{v}\n")


def residual_excess():
    rng = random.Random(1)
    rows = []
    for i in range(0, 600, 5):  # 10 min at a 5 s poll; excess from +300 s to +480 s
        t = T0 + i
        excess = 300 <= i < 480
        rows.append((t, "M1-01", "residual_current.1", (420.0 if excess else 120.0) + rng.uniform(-10, 10)))
        rows.append((t, "M1-01", "temperature.1", 36.0 + rng.uniform(-0.5, 0.5)))
        rows.append((t, "M1-01", "device.online", 1))
    write("residual_excess.csv", f"residual current 120 mA, then 420 mA from {T0 + 300} to {T0 + 480} (onset +300 s)", rows)


def temperature_climb():
    rows = []
    for i in range(0, 1800, 5):  # 30 min: 35 °C rising 0.02 °C/s to 71 °C
        t = T0 + i
        rows.append((t, "M1-02", "temperature.1", 35.0 + 0.02 * i))
        rows.append((t, "M1-02", "residual_current.1", 90.0))
    write("temperature_climb.csv", "temperature.1 climbs 0.02 °C/s from 35 °C; crosses 49 °C at +700 s and 56 °C at +1050 s", rows)


def probe_opening():
    rows = []
    for i in range(0, 600, 5):
        t = T0 + i
        opened = i >= 200
        # A common 4-channel encoding reads raw 0 on an open probe: 0 / 10 - 50 = -50 °C (domain.md §4).
        rows.append((t, "M1-03", "temperature.2", -50.0 if opened else 38.0))
        rows.append((t, "M1-03", "state.temperature.2", "fault_open" if opened else "normal"))
        rows.append((t, "M1-03", "temperature.1", 37.0))
    write("probe_opening.csv", f"probe temperature.2 opens at {T0 + 200} (+200 s)", rows)


def device_silent():
    rows = []
    for i in range(0, 600, 5):
        t = T0 + i
        rows.append((t, "M1-05", "residual_current.1", 110.0))
        rows.append((t, "M1-05", "device.online", 1))
        if i < 240:
            rows.append((t, "M1-04", "residual_current.1", 130.0))
            rows.append((t, "M1-04", "device.online", 1))
        else:
            rows.append((t, "M1-04", "device.online", 0))  # the poller's failed polls
    write("device_silent.csv", f"M1-04 answers until {T0 + 235}, then every poll fails; M1-05 stays up", rows)


def chatter():
    rng = random.Random(7)
    rows = []
    for i in range(0, 600):  # 10 min at 1 Hz around the 300 mA set value
        rows.append((T0 + i, "M1-06", "residual_current.1", 300.0 + rng.uniform(-15, 15)))
    write("chatter.csv", "residual_current.1 at 1 Hz, uniformly 285..315 mA around the 300 mA set value, 10 min", rows)


def alarm_and_fault():
    rows = []
    for i in range(0, 300, 5):
        t = T0 + i
        on = i >= 60
        rows.append((t, "M1-07", "residual_current.1", 450.0 if on else 100.0))
        rows.append((t, "M1-07", "state.temperature.2", "fault_short" if on else "normal"))
        rows.append((t, "M1-07", "temperature.2", 150.0 if on else 40.0))
    write("alarm_and_fault.csv", f"from {T0 + 60}: residual_current.1 at 450 mA and probe temperature.2 shorted at once", rows)


def normal_hours():
    rng = random.Random(3)
    rows = []
    tz = datetime.timezone(datetime.timedelta(hours=8))
    residual, temperature = 150.0, 38.0
    for i in range(0, 2 * 3600, 5):
        residual = min(220, max(80, residual + rng.uniform(-8, 8)))
        temperature = min(45, max(28, temperature + rng.uniform(-0.3, 0.3)))
        ts = datetime.datetime.fromtimestamp(T0 + i, tz).isoformat()
        rows.append((ts, "M1-08", "residual_current.1", residual))
        rows.append((ts, "M1-08", "temperature.1", temperature))
    write("normal_hours.csv", "2 h of normal readings at a 5 s poll: leakage 80..220 mA, cable 28..45 °C", rows)


for f in (residual_excess, temperature_climb, probe_opening, device_silent, chatter, alarm_and_fault, normal_hours):
    f()
