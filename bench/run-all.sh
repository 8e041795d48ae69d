#!/usr/bin/env bash
# Runs every benchmark harness in turn (release builds), each printing its figures; BENCHMARKS.md
# records them with the command of each. `make bench` installs what is missing first.
# Takes about 20 minutes on 2 cores. Run one harness alone with the command in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export FIREWATCH_BIN="$PWD/.build/release/firewatch"
py=.venv/bin/python
run() { echo; echo "=== $*"; "$@"; }
run bash bench/rules/run.sh
run "$py" bench/modbus/rtu_bench.py --seconds 60
run "$py" bench/modbus/tcp_bench.py --seconds 60
run "$py" bench/mqtt/run.py --messages 200000 --rounds 3 --qos 0,1
run bash bench/office/ingest.sh
run bash bench/office/latency.sh 80
run bash bench/registry/run.sh
