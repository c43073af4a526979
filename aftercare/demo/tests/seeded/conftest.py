"""The demo of `seed_demo`, seeded once for every test of this package at `NOW` (Shanghai), inside a transaction
rolled back after the package's last test; each test runs in a savepoint of it, so what a test writes is undone.

The package runs on one xdist worker as one unit (`ONE_WORKER_DIRS` in the root `conftest.py`): the demo is seeded
once instead of once per module or per test. Tests that need an empty database (`--reset`, `--scale`) live one
directory up."""

import datetime as dt
import io
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 18, 15, 30, tzinfo=SHANGHAI)
TODAY = NOW.date()


@pytest.fixture(scope="package")
def seeded_demo(django_db_setup, django_db_blocker, tmp_path_factory) -> dict:
    """{"output": what `seed_demo` printed, "seconds": how long it took, "media": where it wrote its files (a
    report photo): a directory of the package's own, never var/media; a test reading them sets `MEDIA_ROOT` to it."""
    media = tmp_path_factory.mktemp("demo-media")
    with django_db_blocker.unblock(), transaction.atomic():
        with time_machine.travel(NOW, tick=False), override_settings(MEDIA_ROOT=media):
            started = time.monotonic()
            out = io.StringIO()
            call_command("seed_demo", stdout=out)
            seconds = time.monotonic() - started
        yield {"output": out.getvalue(), "seconds": seconds, "media": media}
        transaction.set_rollback(True)
