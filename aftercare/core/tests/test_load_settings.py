"""What makes the pages fast under `make run` (docs/benchmarks.md "Load"): each web worker keeps its database
connection (a new PostgreSQL connection per request costs more than the page), and SQLite connections read
through a memory map and a large page cache in WAL mode."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _database(**env) -> dict:
    """settings.DATABASES["default"] (and, for SQLite, the PRAGMAs of a fresh connection) in an interpreter of
    its own: settings are read at import."""
    code = (
        "import json, django; django.setup()\n"
        "from django.conf import settings; from django.db import connection\n"
        "db = settings.DATABASES['default']\n"
        "out = {'CONN_MAX_AGE': db['CONN_MAX_AGE'], 'CONN_HEALTH_CHECKS': db['CONN_HEALTH_CHECKS'],"
        " 'ENGINE': db['ENGINE'], 'OPTIONS': db.get('OPTIONS', {})}\n"
        "if connection.vendor == 'sqlite':\n"
        "    with connection.cursor() as c:\n"
        "        for p in ('journal_mode', 'synchronous', 'mmap_size', 'cache_size', 'temp_store'):\n"
        "            out[p] = c.execute('PRAGMA ' + p).fetchone()[0]\n"
        "print(json.dumps(out))\n"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("CONN_MAX_AGE", "DATABASE_URL", "DEBUG")}
    clean.update(env, DJANGO_SETTINGS_MODULE="aftercare.settings")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory) -> dict:
    return _database(DATABASE_URL=f"sqlite:///{tmp_path_factory.mktemp('db') / 'a.sqlite3'}")


def test_it_keeps_a_workers_database_connection_and_checks_it_before_reuse(sqlite_db):
    db = sqlite_db
    assert db["CONN_MAX_AGE"] == 60
    assert db["CONN_HEALTH_CHECKS"] is True
    pg = _database(DATABASE_URL="postgres://u@127.0.0.1:1/x")
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["CONN_MAX_AGE"], pg["CONN_HEALTH_CHECKS"]) == (60, True)
    assert pg["OPTIONS"]["options"] == "-c jit=off"


def test_it_opens_a_connection_per_request_with_conn_max_age_zero(tmp_path):
    assert _database(DATABASE_URL=f"sqlite:///{tmp_path / 'a.sqlite3'}", CONN_MAX_AGE="0")["CONN_MAX_AGE"] == 0


def test_it_opens_sqlite_in_wal_mode_with_a_memory_map_and_a_large_cache(sqlite_db):
    db = sqlite_db
    assert db["journal_mode"] == "wal"
    assert db["synchronous"] == 1  # NORMAL: durable at each checkpoint, safe in WAL mode
    assert db["mmap_size"] == 256 * 1024 * 1024
    assert db["cache_size"] == -65536  # KiB: 64 MB
    assert db["temp_store"] == 2  # MEMORY
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
