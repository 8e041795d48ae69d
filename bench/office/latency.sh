#!/usr/bin/env bash
# End-to-end latency: a register change at the simulated detector → the hazard row at the office.
# Real processes on loopback: mosquitto (persistence on), `firewatch office`, `firewatch edge`
# (poll period 1 s) and `firewatch uplink bench-sim` (MarketSimulator, generic-1r4t detectors whose
# own residual-current state register flips between alarm and normal at logged times).
# Latency = office alarm_events.received_at (same transaction as the hazard row) − flip time.
# Baseline in the same run: the same flips to the edge's journal commit (edge_events.created_at).
# Usage: bench/office/latency.sh [FLIPS]   (from the repository root; builds release first)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
FLIPS=${1:-80}
POLL=1
SWIFT=${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}
"$SWIFT" build -c release >/dev/null
BIN=$ROOT/.build/release/firewatch
DIR=$(mktemp -d /tmp/fw-latency-XXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MQ=$(free_port); SIM=$(free_port)
mkdir -p "$DIR/mq"
cat > "$DIR/mosquitto.conf" <<CONF
listener $MQ 127.0.0.1
allow_anonymous true
persistence true
persistence_location $DIR/mq/
autosave_on_changes true
autosave_interval 1
max_queued_messages 100000
user $(id -un)
CONF
cat > "$DIR/office.json5" <<CONF
{ office: "bench-office", broker: { url: "mqtt://127.0.0.1:$MQ" }, data: "$DIR/office" }
CONF
devices=""
for i in 1 2 3 4; do
  devices="$devices { id: \"FC-ARCM-00$i\", profile: \"generic-1r4t\", premises: \"440605-DL-00100$i\", transport: \"tcp://127.0.0.1:$SIM#$i\" },"
done
cat > "$DIR/edge.json5" <<CONF
{ edge: "bench-edge", data: "$DIR/edge", devicesDir: "$ROOT/Devices", rulesDir: "$ROOT/Rules", pollPeriod: $POLL,
  office: { url: "mqtt://127.0.0.1:$MQ" }, uplink: { heartbeatSeconds: 5 }, devices: [ $devices ] }
CONF
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
mosquitto -c "$DIR/mosquitto.conf" 2>"$DIR/mosquitto.log" & pids+=($!)
"$BIN" office seed-demo --db "$DIR/office/office.db" --stalls 4 >/dev/null
"$BIN" office --config "$DIR/office.json5" 2>"$DIR/office.log" & pids+=($!)
"$BIN" uplink bench-sim --port "$SIM" --devices 4 --flips "$FLIPS" --interval 1.5 --warmup 6 --log "$DIR/flips.jsonl" \
  --devices-dir "$ROOT/Devices" 2>"$DIR/sim.log" & SIMPID=$!; pids+=($SIMPID)
sleep 1
"$BIN" edge --config "$DIR/edge.json5" >"$DIR/edge.out" 2>"$DIR/edge.log" & pids+=($!)
wait "$SIMPID"
sleep 3
python3 bench/office/latency.py --flips "$DIR/flips.jsonl" --office "$DIR/office/office.db" --edge "$DIR/edge/edge.db" --poll "$POLL"
echo "(logs and databases in $DIR)"
