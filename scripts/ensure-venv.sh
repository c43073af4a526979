#!/usr/bin/env bash
# Create the virtualenv; on a bare Debian, install python3-venv first (needs root or sudo).
set -euo pipefail
venv=${1:-.venv}
py=${PYTHON:-python3}
[ -x "$venv/bin/python" ] && exit 0
if ! "$py" -m venv "$venv" 2>/dev/null; then
  rm -rf "$venv"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  ver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  echo "python venv module missing: installing python${ver}-venv with apt" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "python${ver}-venv" python3-pip >/dev/null
  "$py" -m venv "$venv"
fi
