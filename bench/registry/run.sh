#!/bin/sh
# Registry benchmark (issue 7): 120,000-row GBK premises import and `premises find` per query.
# Baselines measured in the same run: the sqlite3 shell's `.import` of the same rows (UTF-8) into a
# plain table, and the process start of `firewatch --help` for the find queries.
#
#   bench/registry/run.sh            (builds release first; ROWS=120000 by default)
set -eu
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-120000}
swift build -c release --product firewatch >/dev/null
BIN=.build/release/firewatch
PY=${FIREWATCH_PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
W=$(mktemp -d /tmp/fw-bench-registry.XXXXXX)
trap 'rm -rf "$W"' EXIT
"$PY" bench/registry/make_registry.py "$W/registry.csv" --rows "$ROWS"
"$PY" bench/registry/make_registry.py "$W/registry-utf8.csv" --rows "$ROWS" --encoding utf-8
"$PY" - "$BIN" "$W" "$ROWS" <<'PYEOF'
import json, subprocess, sys, time, statistics
binary, w, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
def timed(args, **kw):
    t = time.perf_counter()
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    return time.perf_counter() - t, r
db = f"{w}/gov.db"
t_import, r = timed([binary, "premises", "import", "--db", db, "--json", f"{w}/registry.csv"])
s = json.loads(r.stdout)
t_again, r2 = timed([binary, "premises", "import", "--db", db, "--json", f"{w}/registry.csv"])
s2 = json.loads(r2.stdout)
# Baseline: sqlite3 shell bulk import of the same rows (UTF-8, no validation, no indexes, one transaction).
base_db = f"{w}/baseline.db"
t_base, rb = timed(["sqlite3", base_db, ".mode csv", f".import {w}/registry-utf8.csv premises"])
queries = ["QR000007919", "NH00060000", "电线电缆1199", "建设大道", "五金", "白沙", "凤池路12号", "不存在的名字"]
def per_query(q, n=5):
    ts = []
    for _ in range(n):
        t, r = timed([binary, "premises", "find", "--db", db, "--json", "--limit", "20", q])
        ts.append(t)
    return statistics.median(ts)
t_help = statistics.median([timed([binary, "--help"])[0] for _ in range(5)])
results = {q: per_query(q) for q in queries}
print(f"rows {rows}: import {t_import:.2f} s (inserted {s['inserted']}, rejected {s['rejected']}; in-process {s['seconds']:.2f} s), "
      f"re-import {t_again:.2f} s (unchanged {s2['unchanged']}), sqlite3 .import baseline {t_base:.2f} s, "
      f"ratio import/baseline {t_import / t_base:.1f}x")
print(f"process start (firewatch --help) median {t_help * 1000:.1f} ms")
for q, t in results.items():
    print(f"  find {q!r}: median {t * 1000:.1f} ms per process, {(t - t_help) * 1000:.1f} ms above process start")
PYEOF
