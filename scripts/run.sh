#!/usr/bin/env bash
# Start the task worker, the scheduler and the web server on 127.0.0.1:8000; Ctrl-C stops all of them.
#   scripts/run.sh       what `make run` serves: gunicorn (WEB_WORKERS processes, default 2), DEBUG off (no
#                        tracebacks; WhiteNoise serves the collected, hashed and compressed static files)
#   scripts/run.sh dev   what `make dev` serves: Django's development server, DEBUG on, reloads on code changes
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
if [ "${1:-}" = dev ]; then
  export DEBUG=true
  web=($py manage.py runserver 127.0.0.1:8000)
else
  export DEBUG=false
  web=($py -m gunicorn aftercare.wsgi -b 127.0.0.1:8000 -w "${WEB_WORKERS:-2}" --access-logfile -)
fi

# Each process in its own process group (job control), so that stopping one stops what it started too (gunicorn's
# workers, the dev server's reloader child); a Ctrl-C reaches this script, which stops them all and waits.
set -m
pids=()
start() { "$@" & pids+=($!); }
stopped=""
stop() {
  [ -n "$stopped" ] && return; stopped=1
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

start $py manage.py db_worker --queue-name '*' --interval 1 --no-reload
start $py manage.py scheduler
cat <<MSG

aftercare is running at http://127.0.0.1:8000/  (DEBUG=$DEBUG; task worker, scheduler and web server: pids ${pids[*]} …)
Demo logins (password demo1234) are listed above; stop with Ctrl-C.

MSG
start "${web[@]}"
# the first of them to end (a port in use, a crash) ends the others
wait -n
