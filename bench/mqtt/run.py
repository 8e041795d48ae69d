#!/usr/bin/env python3
"""MQTT ingest benchmark (issue 4 §6): firewatch vs mosquitto_sub draining the same backlog.

For each QoS (0 and 1) and each round: every subscriber registers a persistent session (clean
session off), then mosquitto_pub -l publishes N json-4g-detector messages (1000 devices), which the
broker queues for every session; then each subscriber connects alone and drains its backlog:
  baseline   mosquitto_sub -c -C N > /dev/null         (the broker path's limit)
  firewatch  the real edge (EdgeAssembly, as `firewatch edge` runs it) with 1000 detectors registered:
             MQTTClient → MQTTDecodeStage → MQTTIngest → ReadingQueue → EdgePipeline (Rules/, journal)
             → ArchiveWriter (SQLite, one row per device per commit)
Reports medians of the rounds: messages/s, ratio to mosquitto_sub (of the medians, and paired by
round), CPU s per 100k messages (also per firewatch thread, sampled as the drain completes) of the
subscriber and of the broker.

Usage: bench/mqtt/run.py [--messages 200000] [--rounds 3]   (builds the harness in release first)
"""
import argparse
import datetime
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HARNESS = os.path.join(HERE, ".build/release/mqtt-ingest-bench")
PYTHON = os.environ.get("FIREWATCH_PYTHON", os.path.join(ROOT, ".venv/bin/python"))  # paho-mqtt for QoS 1


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def proc_cpu(pid):
    """User+sys CPU seconds of a running process (the broker), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def payloads(n, devices):
    now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8)))
    t = now.strftime("%Y-%m-%d %H:%M:%S")
    lines = []
    for i in range(n):
        lines.append(json.dumps({
            "serialNo": "SN%05d" % (i % devices), "residualCurrent": 100 + i % 100,
            "aTemperature": 30.5 + (i % 10) / 10, "bTemperature": 31.0, "cTemperature": 29.5,
            "aVoltage": 221.3, "bVoltage": 220.8, "cVoltage": 219.9,
            "aCurrent": 3.2, "bCurrent": 2.9, "cCurrent": 3.0, "alarm": 0, "collectTime": t,
        }, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--qos", default="0,1")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--package-path", HERE], check=True)

    work = tempfile.mkdtemp(prefix="fw-mqtt-bench-")
    port = free_port()
    conf = os.path.join(work, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                "max_queued_messages 0\nmax_queued_bytes 0\nqueue_qos0_messages true\n"
                f"log_dest file {work}/mosquitto.log\nuser {os.environ.get('USER', 'root')}\n")
    broker = subprocess.Popen(["mosquitto", "-c", conf])
    time.sleep(0.5)
    data = os.path.join(work, "payloads.txt")
    with open(data, "w") as f:
        f.write(payloads(args.messages, args.devices))
    tagged = os.path.join(work, "tagged.txt")
    with open(data) as f, open(tagged, "w") as g:
        for line in f:
            g.write("4g/bench/data\t" + line)
    n = args.messages
    results = {}
    try:
        for qos in [int(q) for q in args.qos.split(",")]:
            runs = {"mosquitto_sub": [], "firewatch": []}
            for rnd in range(args.rounds):
                ids = {k: f"{k}-q{qos}-r{rnd}" for k in runs}
                data_dir = os.path.join(work, f"edge-q{qos}-r{rnd}")
                edge_args = [HARNESS, "--port", str(port), "--client-id", ids["firewatch"], "--data", data_dir,
                             "--devices-dir", os.path.join(ROOT, "Devices"), "--rules", os.path.join(ROOT, "Rules"),
                             "--devices", str(args.devices), "--messages", str(n)]
                subprocess.run(["mosquitto_sub", "-p", str(port), "-c", "-i", ids["mosquitto_sub"], "-q", str(qos),
                                "-t", "4g/+/data", "-E"], check=True)
                # The edge subscribes at QoS 1 (MQTTIngest); its session and its 1000 devices are made here.
                subprocess.run(edge_args + ["--register-only"], check=True, stderr=subprocess.DEVNULL)
                if qos == 0:
                    with open(data) as f:
                        subprocess.run(["mosquitto_pub", "-p", str(port), "-q", "0", "-t", "4g/bench/data", "-l"],
                                       stdin=f, check=True)
                else:
                    # mosquitto_pub -l disconnects at end of input before every PUBACK is in and loses the
                    # rest (2.0.11: about 2/3 of 100k); paho waits for each acknowledgement.
                    subprocess.run([PYTHON, os.path.join(ROOT, "Tests/peers/mqtt_publish.py"), "--port", str(port),
                                    "--qos", "1", "--max-inflight", "100", "--timeout", "600", "--file", tagged], check=True,
                                   stdout=subprocess.DEVNULL)
                time.sleep(1)
                # Baseline.
                c0, t0, b0 = children_cpu(), time.time(), proc_cpu(broker.pid)
                subprocess.run(["mosquitto_sub", "-p", str(port), "-c", "-i", ids["mosquitto_sub"], "-q", str(qos),
                                "-t", "4g/+/data", "-C", str(n)], stdout=subprocess.DEVNULL, check=True, timeout=900)
                runs["mosquitto_sub"].append({"seconds": time.time() - t0, "cpu_seconds": children_cpu() - c0,
                                              "broker_cpu_seconds": proc_cpu(broker.pid) - b0})
                b0 = proc_cpu(broker.pid)
                out = subprocess.run(edge_args, capture_output=True, text=True, timeout=900)
                if out.returncode != 0:
                    sys.exit(f"harness failed: {out.stdout} {out.stderr}")
                r = json.loads(out.stdout.strip().splitlines()[-1])
                r["broker_cpu_seconds"] = proc_cpu(broker.pid) - b0
                assert r["messages"] == n and r["overflowed"] == 0 and r["archived"] == r["readings"], r
                runs["firewatch"].append(r)
                shutil.rmtree(data_dir, ignore_errors=True)
                # End both sessions (a clean-session connect discards them): otherwise every later round's
                # messages would also be queued for this round's subscribers, and rounds would drift.
                for cid in ids.values():
                    subprocess.run(["mosquitto_sub", "-p", str(port), "-i", cid, "-t", "4g/+/data", "-E"],
                                   check=True, stdout=subprocess.DEVNULL)
                print(f"qos {qos} round {rnd}: " + ", ".join(
                    f"{k} {n / v[-1]['seconds']:.0f} msg/s" for k, v in runs.items()), flush=True)
            med = {k: {"seconds": statistics.median(r["seconds"] for r in v),
                       "cpu_seconds": statistics.median(r["cpu_seconds"] for r in v),
                       "broker_cpu_seconds": statistics.median(r["broker_cpu_seconds"] for r in v)} for k, v in runs.items()}
            base = n / med["mosquitto_sub"]["seconds"]
            results[qos] = {k: {"msg_per_s": round(n / m["seconds"]), "ratio": round(n / m["seconds"] / base, 3),
                                "cpu_s_per_100k": round(m["cpu_seconds"] / n * 100_000, 3),
                                "broker_cpu_s_per_100k": round(m["broker_cpu_seconds"] / n * 100_000, 3)} for k, m in med.items()}
            # The same ratio paired by round (both subscribers drained the same backlog minutes apart),
            # which a noisy machine disturbs less than a ratio of medians.
            paired = sorted(b["seconds"] / f["seconds"] for b, f in zip(runs["mosquitto_sub"], runs["firewatch"]))
            results[qos]["firewatch"]["paired_ratio"] = {"median": round(statistics.median(paired), 3),
                                                         "min": round(paired[0], 3), "max": round(paired[-1], 3)}
            threads = sorted({t for r in runs["firewatch"] for t in r.get("thread_cpu_seconds", {})})
            results[qos]["firewatch"]["thread_cpu_s_per_100k"] = {
                t: round(statistics.median(r.get("thread_cpu_seconds", {}).get(t, 0) for r in runs["firewatch"]) / n * 100_000, 3)
                for t in threads if any(r.get("thread_cpu_seconds", {}).get(t, 0) > 0.005 for r in runs["firewatch"])}
            results[qos]["readings_archived_per_round"] = runs["firewatch"][0]["archived"]
            results[qos]["samples_archived_per_round"] = runs["firewatch"][0]["samples"]
    finally:
        broker.terminate()
        broker.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
