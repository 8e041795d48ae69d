#!/usr/bin/env python3
"""Relays bytes between two serial devices (the inner ends of two socat pty pairs), optionally
paced at a line rate and optionally damaging what the slaves send back.

A pty pair alone has no baud timing; this relay releases bytes at one character time each (10 bits
at 8N1) on one shared half-duplex line, so a Modbus master sees the timing of a real RS-485 bus.

    serial_relay.py --master-side DEV --slave-side DEV [--baud 9600] [--bits-per-char 10]
                    [--corrupt-every N] [--garbage-every N] [--delay-unit U:SECONDS] [--no-pacing]

--corrupt-every N  flips the last byte (CRC) of every N-th chunk the slaves send
--garbage-every N  sends 5 random bytes to the master before every N-th chunk from the slaves
--delay-unit U:S   holds back every answer of unit U (a chunk starting with address byte U) for S
                   seconds: a slave answering late *with its own address*, as a real late RS-485
                   slave does (pymodbus's own delays can tag a late answer with the next unit's address)
Prints "ready" when both ends are open; counts are printed on SIGTERM.
"""
import argparse
import os
import random
import select
import signal
import sys
import termios
import time
import tty


def open_raw(path):
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    return fd


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--master-side", required=True)
    p.add_argument("--slave-side", required=True)
    p.add_argument("--baud", type=int, default=9600)
    p.add_argument("--bits-per-char", type=int, default=10)
    p.add_argument("--corrupt-every", type=int, default=0)
    p.add_argument("--garbage-every", type=int, default=0)
    p.add_argument("--delay-unit", action="append", default=[])
    p.add_argument("--no-pacing", action="store_true")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    rng = random.Random(args.seed)
    char_time = 0 if args.no_pacing else args.bits_per_char / args.baud

    delays = {int(u): float(d) for u, d in (x.split(":") for x in args.delay_unit)}
    held = []  # (release time, bytes) of late answers, bound for the master
    master = open_raw(args.master_side)
    slave = open_raw(args.slave_side)
    # Queued bytes per destination, each with its release time on the shared line.
    queue = {master: [], slave: []}
    line_free = time.monotonic()
    last_src = None
    stats = {"to_slave": 0, "to_master": 0, "chunks_from_slave": 0, "corrupted": 0, "garbage": 0}
    running = [True]

    def stop(*_):
        running[0] = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)

    while running[0]:
        now = time.monotonic()
        due = [t for q in queue.values() for t, _ in q[:1]] + [t for t, _ in held[:1]]
        timeout = max(0.0, min(due) - now) if due else 0.2
        try:
            readable, _, _ = select.select([master, slave], [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for src in readable:
            try:
                data = os.read(src, 512)
            except (BlockingIOError, OSError):
                continue
            if not data:
                continue
            dst = slave if src == master else master
            if src == slave and data[0] in delays:
                held.append((now + delays[data[0]], data))
                held.sort(key=lambda x: x[0])
                stats["held"] = stats.get("held", 0) + 1
                continue
            if src == slave:
                stats["chunks_from_slave"] += 1
                n = stats["chunks_from_slave"]
                if args.corrupt_every and n % args.corrupt_every == 0:
                    data = data[:-1] + bytes([data[-1] ^ 0x5A])
                    stats["corrupted"] += 1
                if args.garbage_every and n % args.garbage_every == 0:
                    data = bytes(rng.randrange(256) for _ in range(5)) + data
                    stats["garbage"] += 1
            # A new frame (other sender, or the line idle past 1.5 characters) starts only after
            # 3.5 characters of silence (Modbus serial line guide V1.02 §2.5.1.1).
            if src != last_src or now > line_free + 1.5 * char_time:
                line_free = max(now, line_free + 3.5 * char_time)
            last_src = src
            for b in data:
                line_free = max(line_free, now) + char_time
                queue[dst].append((line_free, b))
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, late = held.pop(0)
            line_free = max(now, line_free + 3.5 * char_time)
            for b in late:
                line_free = max(line_free, now) + char_time
                queue[master].append((line_free, b))
        for dst, q in queue.items():
            ready = 0
            while ready < len(q) and q[ready][0] <= now:
                ready += 1
            if ready:
                chunk = bytes(b for _, b in q[:ready])
                try:
                    os.write(dst, chunk)
                except (BlockingIOError, OSError):
                    pass
                del q[:ready]
                stats["to_slave" if dst == slave else "to_master"] += len(chunk)
    print(" ".join(f"{k}={v}" for k, v in stats.items()), flush=True)


if __name__ == "__main__":
    main()
