#!/usr/bin/env python3
"""Publishes payloads to an MQTT broker and waits until every QoS>0 message is acknowledged.

Usage: mqtt_publish.py --port P [--host H] [--qos Q] [--tls-ca CA [--tls-cert C --tls-key K]] [--file F | stdin]
Each input line is `TOPIC<TAB>PAYLOAD`; the payload is sent as-is (UTF-8), `\\x` escapes allowed with --raw.
Exit 0 when all were published (and acknowledged for QoS 1), 1 otherwise.
"""
import argparse
import sys
import time

import paho.mqtt.client as mqtt


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--qos", type=int, default=1)
    ap.add_argument("--file")
    ap.add_argument("--tls-ca")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--raw", action="store_true", help="payloads are Python bytes literals' bodies (escapes)")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--client-id", default="")
    ap.add_argument("--max-inflight", type=int, default=20)
    args = ap.parse_args()

    lines = (open(args.file, encoding="utf-8") if args.file else sys.stdin).read().splitlines()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.client_id)
    if args.tls_ca:
        client.tls_set(ca_certs=args.tls_ca, certfile=args.tls_cert, keyfile=args.tls_key)
    client.max_inflight_messages_set(args.max_inflight)
    client.connect(args.host, args.port, keepalive=30)
    client.loop_start()
    deadline = time.time() + args.timeout
    while not client.is_connected() and time.time() < deadline:
        time.sleep(0.01)
    infos = []
    window = max(args.max_inflight * 10, 100)
    for line in lines:
        if not line:
            continue
        topic, _, payload = line.partition("\t")
        data = payload.encode("utf-8").decode("unicode_escape").encode("latin-1") if args.raw else payload.encode("utf-8")
        # Keep a bounded number of unacknowledged messages in paho's queue.
        if args.qos > 0 and len(infos) >= window:
            infos[-window].wait_for_publish(timeout=max(0.01, deadline - time.time()))
        infos.append(client.publish(topic, data, qos=args.qos))
    for info in infos:
        remaining = deadline - time.time()
        if remaining <= 0:
            break
        info.wait_for_publish(timeout=remaining)
    ok = all(i.is_published() for i in infos)
    client.disconnect()
    client.loop_stop()
    print(f"published {sum(i.is_published() for i in infos)}/{len(infos)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
