#!/usr/bin/env bash
# Install (apt) the Debian packages that are missing for `make run` or `make test`:
#   scripts/ensure-system-packages.sh run    what the pages need: Chinese fonts and Pango for the PDFs (WeasyPrint)
#   scripts/ensure-system-packages.sh test   the same, plus PostgreSQL (a throwaway server) and Chromium (browser tests)
# Exit 0 when nothing is missing or all was installed, 2 when apt-get failed.
set -uo pipefail
what=${1:-run}
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
need=()
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
dpkg -s libpango-1.0-0 >/dev/null 2>&1 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
if [ "$what" = test ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  [ -x /usr/bin/chromium ] || need+=(chromium)
elif [ "$what" != run ]; then
  echo "usage: $0 run|test" >&2; exit 2
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "== apt-get install ${need[*]}"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null \
    || { echo "apt-get install failed"; exit 2; }
fi
exit 0
