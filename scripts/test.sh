#!/usr/bin/env bash
# The whole suite: lint, migrations check, pytest on SQLite, on a throwaway PostgreSQL, and the
# browser tests in Debian's Chromium. Installs what is missing (apt) and stops what it started.
set -uo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
results=var/test-results
rm -rf "$results"; mkdir -p "$results"

# --- system packages --------------------------------------------------------------------
scripts/ensure-system-packages.sh test || exit 2

# --- throwaway PostgreSQL on a loopback port ----------------------------------------------
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pgdir=$(mktemp -d /tmp/aftercare-pg.XXXXXX)
pgport=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres "$pgdir"; as_pg=(runuser -u postgres --); fi
pgpid=""
stop_pg() {
  if [ -n "$pgpid" ] && kill -0 "$pgpid" 2>/dev/null; then
    kill -INT "$pgpid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pgpid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -rf "$pgdir"
}
trap stop_pg EXIT INT TERM
"${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$pgdir/initdb.log" 2>&1 \
  || { cat "$pgdir/initdb.log"; exit 2; }
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
  -o "-p $pgport -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$pgdir/server.log"; exit 2; }
pgpid=$(head -1 "$pgdir/data/postmaster.pid")
PG_URL="postgres://postgres@127.0.0.1:$pgport/aftercare"
echo "== PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pgport (pid $pgpid)"

status=0
step() { echo; echo "== $*"; }
# pytest, where "no tests collected" (exit 5) is not a failure
run_pytest() { "$py" -m pytest "$@"; local rc=$?; [ $rc -eq 0 ] || [ $rc -eq 5 ] || status=1; }

step "lint: ruff and import-linter (the apps' layers, .importlinter)"
make -s lint || status=1

step "migrations are up to date"
$py manage.py makemigrations --check --dry-run >/dev/null || { echo "missing migrations"; status=1; }

workers=${TEST_WORKERS:-2}
step "pytest on SQLite"
run_pytest -n "$workers" -m "not browser" --junitxml="$results/sqlite.xml" -q

step "pytest on PostgreSQL"
DATABASE_URL="$PG_URL" run_pytest -n "$workers" -m "not browser" --junitxml="$results/postgres.xml" -q

step "browser tests (Chromium)"
DJANGO_ALLOW_ASYNC_UNSAFE=true run_pytest -m browser --junitxml="$results/browser.xml" -q

echo
$py scripts/junit_total.py "$results"/*.xml || status=1
exit $status
