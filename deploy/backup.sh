#!/usr/bin/env bash
# Consistent copies of every firewatch SQLite database under DATA (governance, journal, registry,
# readings) while the daemons run: SQLite's online backup, then `PRAGMA integrity_check` on the copy.
# A copy that fails the check is removed and the script exits non-zero (so systemd reports it).
#   backup.sh DATA_DIR BACKUP_DIR [KEEP_DAYS]
set -euo pipefail
data=${1:?usage: backup.sh DATA_DIR BACKUP_DIR [KEEP_DAYS]}
dest=${2:?usage: backup.sh DATA_DIR BACKUP_DIR [KEEP_DAYS]}
keep=${3:-14}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$dest/$stamp"
mkdir -p "$out"
status=0
while IFS= read -r -d '' db; do
  rel=${db#"$data"/}
  # Only SQLite files (mosquitto's persistence file is also *.db).
  [[ "$(head -c 15 "$db" | tr -d '\000')" == "SQLite format 3" ]] || continue
  copy="$out/$rel"
  mkdir -p "$(dirname "$copy")"
  if ! sqlite3 "$db" ".timeout 10000" ".backup '$copy'"; then
    echo "backup: $rel: the copy failed" >&2
    status=1
    continue
  fi
  check=$(sqlite3 "$copy" "PRAGMA integrity_check;" 2>&1 || true)
  if [[ "$check" != "ok" ]]; then
    echo "backup: $rel: integrity check failed on the copy: $check" >&2
    rm -f "$copy"
    status=1
  else
    echo "backup: $rel -> $copy"
  fi
done < <(find "$data" -name '*.db' -type f -print0)
find "$dest" -mindepth 1 -maxdepth 1 -type d -mtime +"$keep" -exec rm -rf {} +
exit $status
