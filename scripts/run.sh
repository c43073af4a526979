#!/usr/bin/env bash
# Start the task worker and the web server on 127.0.0.1:8000; Ctrl-C stops both.
#   scripts/run.sh       what `make run` serves: DEBUG off (no tracebacks; WhiteNoise serves the collected static files)
#   scripts/run.sh dev   what `make dev` serves: DEBUG on, the dev server reloads on code changes
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
if [ "${1:-}" = dev ]; then
  export DEBUG=true
  reload=()
else
  export DEBUG=false
  reload=(--noreload)
fi
$py manage.py db_worker --queue-name '*' --interval 1 --no-reload &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
cat <<MSG

aftercare is running at http://127.0.0.1:8000/  (DEBUG=$DEBUG, task worker pid $worker)
Demo logins (password demo1234) are listed above; stop with Ctrl-C.

MSG
$py manage.py runserver 127.0.0.1:8000 "${reload[@]}"
