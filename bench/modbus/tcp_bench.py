#!/usr/bin/env python3
"""Modbus TCP: 500 simulated detectors × 30 registers at 1 s, firewatch beside collectd's modbus plugin.

    .venv/bin/python bench/modbus/tcp_bench.py [--devices 500] [--registers 30] [--seconds 60]
        [--firewatch .build/release/firewatch]

One `firewatch simulate` (the same devices, seed and ports for both runs; 125 devices per port as
unit ids, like 4 RS-485 gateways) serves the registers. Run 1: `firewatch device poll` (one owner
thread per port, one FC03 read of 30 registers per device per second). Run 2: collectd 5.12
(Debian collectd-core) with its modbus plugin, configured for the same hosts, slaves and registers
(one <Data> per register, as the plugin reads one value per request). CPU % (of one core) and peak
RSS of each poller come from /proc; values/s from the simulator's served request count for collectd,
from firewatch's own counters for firewatch. Prints a Markdown table for BENCHMARKS.md.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(proc, seconds, warmup):
    time.sleep(warmup)
    c0, t0 = cpu_seconds(proc.pid), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_seconds(proc.pid), time.monotonic()
    return (c1 - c0) / (t1 - t0) * 100, peak_rss_mb(proc.pid)


def start_simulator(fw, args, tmp):
    sim = subprocess.Popen([fw, "simulate", "--devices", str(args.devices), "--port", "0", "--devices-per-port",
                            str(args.per_port), "--profile", f"generic:current.1-{args.registers}=0x0000",
                            "--script", "calm", "--seed", "1", "--json", "--report", "1"],
                           stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "sim.err"), "w"), text=True)
    ports = []
    for _ in range(args.devices):
        t = json.loads(sim.stdout.readline())["transport"]
        port = int(t.split(":")[2].split("#")[0])
        if port not in ports:
            ports.append(port)
    return sim, ports


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def served_rate(tmp, t0, t1):
    """Requests/s the simulator served between wall times t0 and t1 (from its --report lines)."""
    points = []
    with open(os.path.join(tmp, "sim.err")) as f:
        for line in f:
            if line.startswith("served "):
                parts = line.split()
                t = float(parts[-1])
                if t0 <= t <= t1:
                    points.append((t, int(parts[1])))
    if len(points) < 2:
        return 0.0
    return (points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0])


def collectd_config(args, ports, tmp):
    lines = [f'BaseDir "{tmp}"', f'PIDFile "{tmp}/collectd.pid"', 'PluginDir "/usr/lib/collectd"',
             'TypesDB "/usr/share/collectd/types.db"', "Interval 1", "ReadThreads 8", "Hostname \"bench\"",
             "FQDNLookup false", "LoadPlugin logfile",
             f'<Plugin logfile>\n  LogLevel "warning"\n  File "{tmp}/collectd.log"\n</Plugin>',
             "LoadPlugin modbus", "<Plugin modbus>"]
    for r in range(args.registers):
        lines += [f'  <Data "r{r}">', f"    RegisterBase {r}", "    RegisterType Uint16", "    RegisterCmd ReadHolding",
                  '    Type "gauge"', f'    Instance "r{r}"', "  </Data>"]
    collect = "\n".join(f'      Collect "r{r}"' for r in range(args.registers))
    remaining = args.devices
    for i, port in enumerate(ports):
        n = min(args.per_port, remaining)
        remaining -= n
        lines += [f'  <Host "gw{i}">', '    Address "127.0.0.1"', f'    Port "{port}"', "    Interval 1"]
        for unit in range(1, n + 1):
            lines += [f"    <Slave {unit}>", f'      Instance "u{unit}"', collect, "    </Slave>"]
        lines.append("  </Host>")
    lines.append("</Plugin>")
    path = os.path.join(tmp, "collectd.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--registers", type=int, default=30)
    ap.add_argument("--per-port", type=int, default=125)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--firewatch", default=os.path.join(ROOT, ".build", "release", "firewatch"))
    args = ap.parse_args()
    fw = args.firewatch
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # Run 1: firewatch
        sim, ports = start_simulator(fw, args, tmp)
        cmd = [fw, "device", "poll", "--units", f"1-{args.per_port}", "--profile",
               f"generic:current.1-{args.registers}=0x0000", "--period", "1", "--timeout", "0.5",
               "--duration", str(args.seconds + args.warmup + 1), "--json"]
        for p in ports:
            cmd += ["--tcp", f"127.0.0.1:{p}"]
        # --units applies to every endpoint; the last port may hold fewer devices (their polls get exception 11).
        poll = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        cpu, rss = measure(poll, args.seconds, args.warmup)
        summary = json.loads(poll.communicate(timeout=60)[0].strip().splitlines()[-1])
        stop(sim)
        regs = summary["registers_per_second"]
        rows.append(("firewatch device poll", regs, summary["transactions_per_second"], cpu, rss))

        # Run 2: collectd on the same simulated devices
        sim, ports = start_simulator(fw, args, tmp)
        conf = collectd_config(args, ports, tmp)
        cd = subprocess.Popen(["/usr/sbin/collectd", "-f", "-C", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(args.warmup)
        w0, s0, c0 = time.time(), time.monotonic(), cpu_seconds(cd.pid)
        time.sleep(args.seconds)
        w1, s1, c1 = time.time(), time.monotonic(), cpu_seconds(cd.pid)
        cd_rss = peak_rss_mb(cd.pid)
        stop(cd)
        stop(sim)
        cd_regs = served_rate(tmp, w0, w1)  # one register per request
        rows.append(("collectd 5.12 modbus plugin", cd_regs, cd_regs, (c1 - c0) / (s1 - s0) * 100, cd_rss))
        log = open(os.path.join(tmp, "collectd.log")).read()[-2000:]
    goal = args.devices * args.registers
    print(f"| poller | registers/s (goal {goal}) | requests/s | CPU % of one core | peak RSS MB |")
    print("|---|---|---|---|---|")
    for name, r, q, c, m in rows:
        print(f"| {name} | {r:.0f} | {q:.0f} | {c:.1f} | {m:.1f} |")
    fwr, cdr = rows[0], rows[1]
    print(f"\nratio firewatch/collectd: registers/s {fwr[1] / max(cdr[1], 1):.2f}, CPU {fwr[3] / max(cdr[3], 0.01):.2f}, "
          f"RSS {fwr[4] / max(cdr[4], 0.01):.2f}")
    print("firewatch summary:", json.dumps(summary))
    if log.strip():
        print("collectd log tail:", log.strip().splitlines()[-3:])


if __name__ == "__main__":
    main()
