#!/usr/bin/env python3
"""RTU throughput through a paced 9600 8N1 line, against the theoretical limit (domain.md §6).

    .venv/bin/python bench/modbus/rtu_bench.py [--seconds 30] [--registers 10] [--slaves 32] [--dead 3]

Two socat pty pairs with Tests/peers/serial_relay.py between them (bytes released at 1.0417 ms each,
3.5 characters of silence before every frame), pymodbus serving the slaves, and
`firewatch device poll --rtu ... --period 0` polling every slave as fast as the line allows.
Run 1: all slaves answer. Run 2: the last --dead slaves never answer (response timeout 0.5 s,
backoff capped at --max-backoff). Prints a Markdown table for BENCHMARKS.md.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = os.path.join(ROOT, ".venv", "bin", "python")
FW = os.environ.get("FIREWATCH_BIN", os.path.join(ROOT, ".build", "debug", "firewatch"))


def wait_for(path, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise SystemExit(f"{path} did not appear")


def run(args, live_units, tmp, label):
    procs = []
    try:
        pairs = []
        for name in ("m", "s"):
            a, b = os.path.join(tmp, f"{label}-{name}-a"), os.path.join(tmp, f"{label}-{name}-b")
            procs.append(subprocess.Popen(["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                                          stderr=subprocess.DEVNULL))
            wait_for(a); wait_for(b)
            pairs.append((a, b))
        (master_a, master_b), (slave_a, slave_b) = pairs
        relay = subprocess.Popen([PY, os.path.join(ROOT, "Tests/peers/serial_relay.py"), "--master-side", master_b,
                                  "--slave-side", slave_a, "--baud", "9600"], stdout=subprocess.PIPE, text=True)
        procs.append(relay)
        relay.stdout.readline()
        spec = {"units": {str(u): {"holding": [{"address": 0, "words": list(range(u, u + args.registers))}]}
                          for u in live_units}}
        spec_path = os.path.join(tmp, f"{label}.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        peer = subprocess.Popen([PY, os.path.join(ROOT, "Tests/peers/modbus_peer.py"), "--spec", spec_path,
                                 "--rtu", slave_b, "--baud", "9600"], stdout=subprocess.PIPE, text=True)
        procs.append(peer)
        peer.stdout.readline()
        time.sleep(1.0)
        out = subprocess.run([FW, "device", "poll", "--rtu", master_a, "--baud", "9600", "--units", f"1-{args.slaves}",
                              "--profile", f"generic:current.1-{args.registers}=0x0000", "--period", "0",
                              "--timeout", "0.5", "--max-backoff", str(args.max_backoff),
                              "--duration", str(args.seconds), "--json"],
                             capture_output=True, text=True, timeout=args.seconds + 60)
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--registers", type=int, default=10)
    ap.add_argument("--slaves", type=int, default=32)
    ap.add_argument("--dead", type=int, default=3)
    ap.add_argument("--max-backoff", type=float, default=10)
    args = ap.parse_args()
    char = 10 / 9600
    cycle = (8 + 5 + 2 * args.registers + 7) * char  # request + response + two t3.5 gaps
    limit = 1 / cycle
    with tempfile.TemporaryDirectory() as tmp:
        full = run(args, range(1, args.slaves + 1), tmp, "full")
        dead = run(args, range(1, args.slaves - args.dead + 1), tmp, "dead")
    sweep_full = full["live_mean_period"]
    sweep_dead = dead["live_mean_period"]
    per_backoff = dead["dead_timeouts_each"] / (args.seconds / args.max_backoff)
    print(f"| run | transactions/s | limit/s | ratio | live sweep period s | dead slave timeouts per {args.max_backoff:g} s |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.slaves} live | {full['transactions_per_second']:.2f} | {limit:.2f} | "
          f"{full['transactions_per_second'] / limit * 100:.1f} % | {sweep_full:.3f} | – |")
    print(f"| {args.slaves - args.dead} live + {args.dead} dead | {dead['transactions_per_second']:.2f} | {limit:.2f} | "
          f"{dead['transactions_per_second'] / limit * 100:.1f} % | {sweep_dead:.3f} | {per_backoff:.2f} |")
    ideal_dead = (args.slaves - args.dead) * cycle
    print(f"\nFC03 × {args.registers} registers: cycle {cycle * 1000:.2f} ms at 9600 8N1 (no slave turnaround).")
    print(f"Live sweep with {args.dead} dead: {sweep_dead:.3f} s vs {ideal_dead:.3f} s for {args.slaves - args.dead} "
          f"slaves on an ideal line; bound: + {args.dead} × 0.5 s timeout per {args.max_backoff:g} s backoff period.")
    print("raw:", json.dumps(full), json.dumps(dead), sep="\n")


if __name__ == "__main__":
    main()
