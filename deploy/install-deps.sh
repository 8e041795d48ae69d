#!/usr/bin/env bash
# Installs what firewatch needs to build, run and test, and nothing else.
# Idempotent: skips apt entirely when every package is already installed,
# and skips pip when the test-peer venv already has its requirements.
#   deploy/install-deps.sh            build + runtime deps (for `make demo`)
#   deploy/install-deps.sh --test     also test peers (mosquitto, socat, mbpoll, venv with pymodbus/paho-mqtt)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

runtime=(pkg-config libmodbus-dev libmosquitto-dev libsqlite3-dev sqlite3)
testing=(mosquitto mosquitto-clients socat mbpoll openssl python3-venv collectd-core)

want=("${runtime[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${testing[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: system packages present"
fi

if [[ "${1:-}" == "--test" ]]; then
  venv="$here/.venv"
  req="$here/Tests/peers/requirements.txt"
  stamp="$venv/.requirements.sha"
  sum=$(sha256sum "$req" | cut -d' ' -f1)
  if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$sum" ]]; then
    echo "install-deps: preparing test-peer venv in .venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
    echo "$sum" > "$stamp"
  else
    echo "install-deps: test-peer venv present"
  fi
fi
