#!/usr/bin/env bash
# Office ingest benchmark: alarm events stored into hazard records with deduplication.
# 100,000 raise/clear events for 200 registered detectors, 200 per message (the uplink's batch),
# every tenth message sent twice (duplicates); the office stores whatever messages queued up in one
# transaction (≤ 50; here 25) — and, for comparison, one message per transaction. Baseline in the
# same run: one FULL transaction per event (GovernanceStore.ingest).
# Usage: bench/office/ingest.sh   (from the repository root; builds release first)
set -euo pipefail
cd "$(dirname "$0")/../.."
SWIFT=${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}
"$SWIFT" build -c release >/dev/null
BIN=.build/release/firewatch
DB=$(mktemp -d)/ingest.db
for coalesce in 25 1; do
  "$BIN" office bench-ingest --db "$DB" --events 100000 --batch 200 --coalesce "$coalesce" --baseline-events 2000
done
rm -rf "$(dirname "$DB")"
