#!/usr/bin/env python3
"""A pymodbus slave (or several, one per unit id) serving register maps given in a JSON file.

Used by firewatch's integration tests and benches as an independent Modbus peer: values are packed
here with Python's struct module, not by firewatch, so word orders are checked against a second
implementation.

    modbus_peer.py --spec SPEC.json (--tcp PORT | --rtu DEVICE [--baud 9600 --parity N --stop 1])

SPEC.json:
    {"units": {"1": {"holding": [{"address": 0, "type": "f32", "order": "CDAB", "value": 123.5},
                                 {"address": 10, "words": [1, 2, 3]}],
                     "input": [...], "coils": [{"address": 0, "bits": [1, 0, 1]}],
                     "size": 256}},
     "delay": {"3": 0.8},            # unit 3 answers 0.8 s late
     "busy": {"2": [100, 101]}}      # unit 2 answers "device busy" for reads starting at these addresses
A unit that is not listed never answers (RTU) — a dead slave.
The peer prints "ready" on stdout once it serves.
"""
import argparse
import asyncio
import json
import struct
import sys
import time

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer

FORMATS = {"u16": ">H", "i16": ">h", "u32": ">I", "i32": ">i", "f32": ">f"}


def words(entry):
    """The 16-bit words of one entry, laid out in its byte order (ABCD = big-endian)."""
    if "words" in entry:
        return [int(w) & 0xFFFF for w in entry["words"]]
    kind = entry.get("type", "u16")
    value = entry["value"]
    if kind != "f32":
        value = int(round(value))
    raw = struct.pack(FORMATS[kind], value)
    if len(raw) == 2:
        return [struct.unpack(">H", raw)[0]]
    a, b, c, d = raw
    order = entry.get("order", "ABCD").upper()
    placed = {"ABCD": (a, b, c, d), "CDAB": (c, d, a, b), "BADC": (b, a, d, c), "DCBA": (d, c, b, a)}[order]
    return [placed[0] << 8 | placed[1], placed[2] << 8 | placed[3]]


class PeerDevice(ModbusDeviceContext):
    """A device context that can answer late or busy."""

    def __init__(self, delay, busy, **kwargs):
        super().__init__(**kwargs)
        self.delay = delay
        self.busy = set(busy)

    async def async_getValues(self, func_code, address, count=1):
        if self.delay:
            # Block the whole peer, like a single-threaded slave on a shared line. An asyncio sleep
            # would let pymodbus 3.11 answer the next request meanwhile and then send this late
            # answer under that request's unit id (its handler keeps one last_pdu).
            time.sleep(self.delay)
        if address in self.busy:
            return ExcCodes.DEVICE_BUSY
        return self.getValues(func_code, address, count)


def build(spec):
    devices = {}
    for unit, tables in spec.get("units", {}).items():
        size = int(tables.get("size", 256))
        blocks = {}
        for table in ("holding", "input", "coils", "discrete_inputs"):
            values = [0] * size
            for entry in tables.get(table, []):
                data = entry["bits"] if "bits" in entry else words(entry)
                for i, w in enumerate(data):
                    values[int(entry["address"]) + i] = w
            # pymodbus adds 1 to every request address: block start 1 serves Modbus address 0.
            blocks[table] = ModbusSequentialDataBlock(1, values)
        devices[int(unit)] = PeerDevice(
            float(spec.get("delay", {}).get(unit, 0)),
            spec.get("busy", {}).get(unit, []),
            hr=blocks["holding"], ir=blocks["input"], co=blocks["coils"], di=blocks["discrete_inputs"])
    return ModbusServerContext(devices=devices, single=False)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True)
    parser.add_argument("--tcp", type=int)
    parser.add_argument("--rtu")
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--parity", default="N")
    parser.add_argument("--stop", type=int, default=1)
    args = parser.parse_args()
    with open(args.spec, encoding="utf-8") as f:
        context = build(json.load(f))
    print("ready", flush=True)
    if args.tcp:
        await StartAsyncTcpServer(context, address=("127.0.0.1", args.tcp), ignore_missing_devices=True)
    elif args.rtu:
        await StartAsyncSerialServer(context, framer=FramerType.RTU, port=args.rtu, baudrate=args.baud,
                                     parity=args.parity, stopbits=args.stop, bytesize=8,
                                     ignore_missing_devices=True)
    else:
        sys.exit("give --tcp PORT or --rtu DEVICE")


if __name__ == "__main__":
    asyncio.run(main())
