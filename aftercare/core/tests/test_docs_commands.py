"""Every command that README.md and docs/*.md show is run here, so a document cannot drift from the code.

Commands are taken from fenced `sh` blocks (every line), from other fenced blocks (lines that start like a command)
and from inline code that starts with `manage.py`, `python manage.py`, `make `, `python -m` or `.venv/bin/`.
Each must be a key of KNOWN, which says how it is run:

* `AS_DOCUMENTED`: as written, with the placeholders below filled in; `[optional parts]` run once left out and once
  put in. `manage.py …` runs for real (call_command) against the test database; `make T` runs as `make -n T` (the
  target exists and its recipe expands); `python -m …` runs in a child process.
* a list of commands: what to run instead where the documented form cannot run in a test (a worker that never
  exits, a million rows, a benchmark that needs its own PostgreSQL); the smallest real run, else `--help`.

A new command in a document fails `test_it_knows_every_documented_command` until it is added here (except
`make TARGET`, always run as documented).
"""

import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from aftercare.testing import factories as f
from aftercare.testing.factories import make_vin

ROOT = Path(__file__).resolve().parents[3]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

AS_DOCUMENTED = "as documented"
PYTHON_M_TIMEOUT = 120

# Placeholders of the documents -> values in the test database (see the `placeholders` fixture for the rest).
PLACEHOLDERS = {
    "GZ01": "A01",
    "CODE": "A01",
    "KIND": "repair_orders",
    "N": "2",
    "YYYY-MM-DD": "2024-01-01",
}
FILE_PLACEHOLDERS = ("FILE", "export.csv", "工单导出_2024-03.csv")

KNOWN: dict[str, str | list[str]] = {
    # README (`make TARGET` needs no entry: it always runs as `make -n TARGET`)
    "manage.py collectstatic": ["manage.py collectstatic --noinput"],  # STATIC_ROOT is a temporary directory
    "manage.py migrate": AS_DOCUMENTED,
    # with the test settings it warns (no HTTPS, a short SECRET_KEY); aftercare/core/tests/test_production.py runs it
    # with production values
    "manage.py check --deploy": AS_DOCUMENTED,
    "manage.py db_worker --queue-name '*'": ["manage.py db_worker --queue-name '*' --batch"],  # runs until stopped
    "manage.py prune_db_task_results": AS_DOCUMENTED,
    "manage.py followups_generate": AS_DOCUMENTED,
    "manage.py repeat_repairs_detect": AS_DOCUMENTED,
    "manage.py data_quality_report": AS_DOCUMENTED,
    "manage.py complaints_escalate": AS_DOCUMENTED,
    "manage.py renewals_generate": AS_DOCUMENTED,
    "manage.py renewal_reminders_send": AS_DOCUMENTED,
    # docs/appointments.md, Booking (abook)
    "manage.py appointment_reminders_send [--today YYYY-MM-DD]": AS_DOCUMENTED,
    "manage.py appointment_waitlist_expire": AS_DOCUMENTED,
    # ---- channels: docs/care.md, Channels and consent ----
    "manage.py messages_release": AS_DOCUMENTED,
    "manage.py calls_cap_apply": AS_DOCUMENTED,
    # ---- end channels ----
    # ---- mail: docs/reports.md, Reports by mail ----
    "manage.py reports_send": AS_DOCUMENTED,
    "manage.py reports_send --store GZ01 --today YYYY-MM-DD": AS_DOCUMENTED,
    # ---- end mail ----
    # ---- yearly: docs/reports.md, Year report ----
    "manage.py year_report --store GZ01 --year 2026 --out DIR": AS_DOCUMENTED,
    # ---- end yearly ----
    "manage.py scheduler": ["manage.py scheduler --once"],  # runs until stopped; one tick enqueues every job once
    "manage.py scheduler --once": AS_DOCUMENTED,
    "manage.py import_dms --store GZ01 --kind repair_orders export.csv [--dry-run]": AS_DOCUMENTED,
    'manage.py api_token_create USERNAME "name of the integration"': AS_DOCUMENTED,
    # docs/architecture.md, docs/import.md
    "manage.py db_worker": ["manage.py db_worker --batch"],
    "python manage.py db_worker": ["manage.py db_worker --batch"],
    # docs/benchmarks.md: each needs a PostgreSQL server of its own and minutes; the command line is checked
    "python -m bench import --rows N [--kind repair_orders] [--database aftercare_bench] [--keep] [--chunk-size N] "
    "[--breakdown]": ["python -m bench import --help"],
    "python -m bench.validate": ["python -m bench.validate --help"],
    "python -m bench.breakdown": ["python -m bench.breakdown --help"],
    "python -m bench import --rows 1000000": ["python -m bench import --help"],
    "DATABASE_URL=postgres://postgres@127.0.0.1:5433/postgres .venv/bin/python -m bench import --rows 1000000": [
        "python -m bench import --help"
    ],
    "python -m bench followups [--vehicles 1000000] [--database aftercare_bench_fu] [--keep] [--repeats 5] "
    "[--requests 60] [--no-backfill]": ["python -m bench followups --help"],
    "python -m bench followups": ["python -m bench followups --help"],
    "DATABASE_URL=postgres://postgres@127.0.0.1:5433/postgres .venv/bin/python -m bench followups": [
        "python -m bench followups --help"
    ],
    "python -m bench followups --vehicles 1000000 --no-backfill": ["python -m bench followups --help"],
    # docs/benchmarks.md, renewal case generation (~1 M policies: minutes); tests/test_bench_renewals.py runs it small
    "python -m bench renewals [--policies 1000000] [--stores 20] [--database aftercare_bench_rn] [--keep] "
    "[--repeats 3]": ["python -m bench renewals --help"],
    "DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres .venv/bin/python -m bench renewals": [
        "python -m bench renewals --help"
    ],
    # docs/benchmarks.md, appointments (15 k bookings, PostgreSQL: a minute); tests/test_bench_appointments.py runs it
    # small
    "python -m bench appointments [--bookings 15000] [--runs 20] [--count 300] [--database aftercare_bench_ap] "
    "[--keep]": ["python -m bench appointments --help"],
    "DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres .venv/bin/python -m bench appointments": [
        "python -m bench appointments --help"
    ],
    # docs/benchmarks.md, read audit: seeds the demo and times 3,600 requests (minutes)
    "python -m bench read_audit [--requests 300] [--files 50] [--prior-views 2000] [--customers 2000] [--keep]": [
        "python -m bench read_audit --help"
    ],
    ".venv/bin/python -m bench read_audit": ["python -m bench read_audit --help"],
    "python -m bench read_audit": ["python -m bench read_audit --help"],  # docs/security.md
    "DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres .venv/bin/python -m bench read_audit": [
        "python -m bench read_audit --help"
    ],
    # docs/benchmarks.md, load: seeds a database, runs gunicorn for minutes; tests/test_bench_load.py runs it end to
    # end (2 s a run, a small demo)
    "python -m bench load [--database-url postgres://USER@HOST:PORT/postgres] [--mode saturation|users|both] "
    "[--duration 300] [--pages queue,customer360,complaints] [--workers 2] [--json]": ["python -m bench load --help"],
    ".venv/bin/python -m bench load --json": ["python -m bench load --help"],
    "python -m bench load": ["python -m bench load --help"],
    ".venv/bin/python -m bench load --database-url postgres://postgres@127.0.0.1:55432/postgres --json": [
        "python -m bench load --help"
    ],
    ".venv/bin/python -m bench load --duration 20 --plain-static": ["python -m bench load --help"],
    "manage.py import_dms --kind repair_orders": ["manage.py import_dms --kind repair_orders --store A01 {file}"],
    # docs/complaints.md, docs/kpis.md
    "manage.py repeat_repairs_detect [--store CODE] [--since YYYY-MM-DD]": AS_DOCUMENTED,
    # docs/renewals.md
    "manage.py renewals_generate [--store CODE] [--since YYYY-MM-DD]": AS_DOCUMENTED,
    # ---- remind ----
    "manage.py care_reminders_generate [--today YYYY-MM-DD] [--store CODE]": AS_DOCUMENTED,
    "python -m bench.care_remindbench [--vehicles 100000] [--stores 10] [--repeats 3] [--database aftercare_bench_cr] "
    "[--keep]": ["python -m bench.care_remindbench --help"],
    # ---- end remind ----
    # docs/appointments.md (day board part)
    "manage.py appointments_no_show": AS_DOCUMENTED,
    "manage.py appointments_match": AS_DOCUMENTED,
    # docs/data-quality.md
    "python manage.py data_quality_report [--store CODE ...] [--json]": AS_DOCUMENTED,
    # docs/demo.md: the demo at its smallest (the default 2,000 customers take half a minute)
    "python manage.py seed_demo": ["manage.py seed_demo --customers 20"],
    "python manage.py seed_demo --reset": [
        "manage.py seed_demo --customers 20",
        "manage.py seed_demo --reset --customers 20",
    ],
    "python manage.py seed_demo --scale 1000000": ["manage.py seed_demo --scale 50"],
    # docs/import.md
    "python manage.py import_dms --store CODE --kind KIND FILE [--dry-run] [--user USERNAME] [--chunk-size N]": (
        AS_DOCUMENTED
    ),
    "python manage.py import_dms --store A01 --kind repair_orders 工单导出_2024-03.csv": AS_DOCUMENTED,
    "manage.py import_fail_stale": AS_DOCUMENTED,
    "python -m bench.xlsxbounds": ["python -m bench.xlsxbounds --help"],  # a million rows: minutes
    # docs/roles.md: regenerates the table into a copy of the document, which must come out unchanged
    ".venv/bin/python -m aftercare.core.tests.test_roles_doc": ["roles-doc"],
    "manage.py api_token_create USERNAME": AS_DOCUMENTED,
    # docs/benchmarks.md, renewal measures: a million policies on a PostgreSQL server of its own (minutes);
    # tests/test_bench_renewal_measures.py runs the bench's parts on a tiny dataset
    # docs/benchmarks.md, the KPI catalogue (200 k repair orders: minutes); tests/test_bench_kpis.py runs it small
    "python -m bench kpis [--repair-orders 200000] [--stores 10] [--repeats 5] [--database aftercare_bench_kpis] "
    "[--keep]": ["python -m bench kpis --help"],
    "DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres .venv/bin/python -m bench kpis": [
        "python -m bench kpis --help"
    ],
    "python -m bench renewal-measures [--policies 1000000] [--stores 20] [--repeats 5] "
    "[--database aftercare_bench_rm] [--keep]": ["python -m bench renewal-measures --help"],
    "DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres .venv/bin/python -m bench renewal-measures": [
        "python -m bench renewal-measures --help"
    ],
    # ---- classes: docs/care.md, docs/benchmarks.md ----
    "manage.py care_classify": AS_DOCUMENTED,
    "manage.py care_classify [--store CODE] [--today YYYY-MM-DD]": AS_DOCUMENTED,
    # tests/test_bench_care_classes.py runs the bench's parts on 300 customers
    "python -m bench care-classes [--customers 1000000] [--database aftercare_bench_cc] [--keep]": [
        "python -m bench care-classes --help"
    ],
    # ---- end classes ----
    # docs/benchmarks.md, the batch-defect alarm job and the scorecard (10 M repair orders: most of an hour);
    # tests/test_bench_quality_alarm.py runs the bench's parts on 40,000 repair orders
    "python -m bench quality-alarm [--vehicles 2000000] [--repair-orders 10000000] [--stores 100] [--repeats 3] "
    "[--runs 20] [--database aftercare_bench_qa] [--keep] [--reuse]": ["python -m bench quality-alarm --help"],
    "DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres .venv/bin/python -m bench quality-alarm": [
        "python -m bench quality-alarm --help"
    ],
    # docs/benchmarks.md, "Start page per role": seeds the demo and times 1,600 requests (minutes)
    "python -m bench today [--requests 200] [--customers 2000] [--cards] [--keep]": ["python -m bench today --help"],
    # ---- churn: docs/care.md, "Churn-risk score" ----
    # docs/quality.md: 6 designs x 3 rises x 10,000 runs take about 30 s; the smallest run, and the options as written
    "manage.py quality_alarm_oc [--mu0 2 --h 4.5 --runs 10000 --seed 1]": [
        "manage.py quality_alarm_oc --runs 200", "manage.py quality_alarm_oc --mu0 2 --h 4.5 --runs 200 --seed 1"],
    "manage.py quality_alarm_run [--today YYYY-MM-DD]": AS_DOCUMENTED,  # docs/quality.md: an empty group, no alarm
    "manage.py churn_train": ["manage.py churn_train --help"],  # needs months of history: the test database has none
    "manage.py churn_score": AS_DOCUMENTED,
    "manage.py churn_backtest --seeds 5": ["manage.py churn_backtest --seeds 1 --customers 300"],  # 5 × 3,000: ~15 s
    # the demo generator's history, 5 × 3,000 customers: ~10 s
    "manage.py demo_churn_backtest --seeds 5": ["manage.py demo_churn_backtest --seeds 1 --customers 300"],
    "python -m bench.care_churnbench --customers N": ["python -m bench.care_churnbench --help"],
    "DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres .venv/bin/python -m bench.care_churnbench "
    "--customers 200000": ["python -m bench.care_churnbench --help"],
    "DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres .venv/bin/python -m bench.care_churnbench "
    "--customers 200000 --legacy": ["python -m bench.care_churnbench --help"],
    # ---- end churn ----
    # ---- campaigns: docs/care.md, Campaigns and recalls ----
    "manage.py care_recalls_update": AS_DOCUMENTED,
}

COMMAND_START = re.compile(
    r"^(?:[A-Z_][A-Z0-9_]*=\S+\s+)*(?:manage\.py\s|python\s+manage\.py\s|make\s|python\s+-m\s|\.venv/bin/)"
)


def how_to_run(command: str) -> str | list[str] | None:
    if re.fullmatch(r"make [\w.-]+", command):
        return AS_DOCUMENTED
    return KNOWN.get(command)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _without_comment(line: str) -> str:
    """`make run    # what it does` -> `make run` (a `#` inside quotes stays)."""
    quote = None
    for i, char in enumerate(line):
        if char in "'\"" and quote in (None, char):
            quote = None if quote else char
        elif char == "#" and quote is None and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def documented_commands() -> dict[str, str]:
    """{command: where it is shown} over README.md and docs/*.md."""
    found: dict[str, str] = {}
    for doc in DOCUMENTS:
        name = doc.relative_to(ROOT).as_posix()
        prose: list[str] = []
        fence = None  # the language of the open fenced block, "" for none given
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            opening = re.match(r"^\s*```(\S*)", line)
            if opening:
                fence = opening.group(1) if fence is None else None
                prose.append("")
                continue
            if fence is None:
                prose.append(line)
                continue
            prose.append("")
            command = _clean(_without_comment(re.sub(r"^\s*\$\s+", "", line)))
            if command and (fence in ("sh", "bash", "shell", "console") or COMMAND_START.match(command)):
                found.setdefault(command, f"{name}:{number}")
        # inline code may wrap over lines within a paragraph (not across an empty line)
        text = "\n".join(prose)
        for match in re.finditer(r"(?<!`)`([^`]+)`(?!`)", text):
            code = match.group(1)
            if "\n\n" in code:
                continue
            command = _clean(code)
            if COMMAND_START.match(command):
                found.setdefault(command, f"{name}:{text.count(chr(10), 0, match.start()) + 1}")
    return found


DOCUMENTED = documented_commands()


def expand(command: str) -> list[str]:
    """`a [--x] [--y Y]` -> [`a`, `a --x --y Y`]; `...` (repeatable) dropped."""
    command = command.replace("...", "")
    if "[" not in command:
        return [_clean(command)]
    without = re.sub(r"\[[^\]]*\]", "", command)
    within = re.sub(r"\[([^\]]*)\]", r"\1", command)
    return [_clean(without), _clean(within)]


def fill(command: str, values: dict[str, str]) -> list[str]:
    return [shlex.join([values.get(token, token) for token in shlex.split(part)]) for part in expand(command)]


# ---- running ----------------------------------------------------------------------------------------------------


def run(command: str) -> str:
    """Run one command line; fail the test with its output if it does not succeed."""
    if command == "roles-doc":
        return _regenerate_roles_doc()
    tokens = shlex.split(command)
    while tokens and re.match(r"^[A-Z_][A-Z0-9_]*=", tokens[0]):
        tokens.pop(0)  # environment (another database): the test runs against its own
    if tokens[0] in ("python", ".venv/bin/python"):
        tokens = tokens[1:]
    if tokens[0] == "manage.py":
        return _manage(tokens[1:])
    if tokens[0] == "make":
        return _child(["make", "-n", *tokens[1:]])
    if tokens[0] == "-m":
        return _child([sys.executable, *tokens])
    pytest.fail(f"do not know how to run {command!r}")


def _manage(argv: list[str]) -> str:
    out, err = io.StringIO(), io.StringIO()
    # the browser tests' modules set DJANGO_ALLOW_ASYNC_UNSAFE when collected; `check --deploy` refuses it (async.E001)
    unsafe = os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    try:
        call_command(*argv, stdout=out, stderr=err)
    except CommandError as exc:
        pytest.fail(f"manage.py {shlex.join(argv)} failed: {exc}\n{err.getvalue()}")
    except SystemExit as exc:
        if exc.code not in (0, None):
            pytest.fail(f"manage.py {shlex.join(argv)} exited {exc.code}\n{out.getvalue()}\n{err.getvalue()}")
    finally:
        if unsafe is not None:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = unsafe
    return out.getvalue()


def _child(argv: list[str]) -> str:
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=PYTHON_M_TIMEOUT, check=False)
    assert done.returncode == 0, f"{shlex.join(argv)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _regenerate_roles_doc() -> str:
    from aftercare.core.tests import test_roles_doc

    original = test_roles_doc.DOC
    copy = Path(__import__("tempfile").mkdtemp()) / "roles.md"
    shutil.copy(original, copy)
    test_roles_doc.DOC = copy
    try:
        test_roles_doc.regenerate()
    finally:
        test_roles_doc.DOC = original
    assert copy.read_text(encoding="utf-8") == original.read_text(encoding="utf-8"), "docs/roles.md is out of date"
    return ""


RO_HEADER = ["工单号", "VIN/车架号", "车牌号", "车型", "客户姓名", "联系电话", "结算日期", "维修类型", "金额", "里程"]


@pytest.fixture
def placeholders(settings, tmp_path, store_a, manager, monkeypatch):
    """The test database the commands run against: store A01 with its CS manager, and a small valid DMS export."""
    from django_tasks_db.management.commands import db_worker

    settings.STATIC_ROOT = tmp_path / "static"
    # The worker closes "old" connections between tasks; here that would be the one holding the test transaction.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    export = tmp_path / "export.csv"
    rows = [
        [f"RO{n:05d}", make_vin(910_000 + n), f"粤B{n:05d}", "英朗", f"客户{n}", f"1381234{n:04d}",
         f"2024-03-{n:02d} 10:00:00", "保养", "100.50", str(10_000 + n)]
        for n in range(1, 4)
    ]
    export.write_text("\n".join(",".join(row) for row in [RO_HEADER, *rows]) + "\n", encoding="utf-8")
    f.CustomerFactory(store=store_a)
    values = dict(PLACEHOLDERS, USERNAME=manager.username, DIR=str(tmp_path / "out"))
    values.update(dict.fromkeys(FILE_PLACEHOLDERS, str(export)))
    return values


# ---- tests ------------------------------------------------------------------------------------------------------


def test_it_finds_the_commands_of_the_documents():
    assert "make test" in DOCUMENTED
    assert 'manage.py api_token_create USERNAME "name of the integration"' in DOCUMENTED
    assert "manage.py repeat_repairs_detect" in DOCUMENTED  # inline code wrapping over two lines


def test_it_knows_every_documented_command():
    unknown = {command: where for command, where in DOCUMENTED.items() if how_to_run(command) is None}
    assert not unknown, f"add these documented commands to KNOWN in {Path(__file__).name}: {unknown}"


def test_it_lists_no_command_the_documents_dropped():
    assert not set(KNOWN) - set(DOCUMENTED), "no longer documented; remove from KNOWN"


@pytest.mark.django_db
@pytest.mark.parametrize("command", sorted(DOCUMENTED), ids=lambda c: c[:80])
def test_it_runs_the_documented_command(command, placeholders):
    how = how_to_run(command)
    if how is None:
        pytest.fail(f"{command!r} ({DOCUMENTED[command]}) is not in KNOWN")
    if how == AS_DOCUMENTED:
        runs = fill(command, placeholders)
    else:
        runs = [line.format(file=placeholders["FILE"]) for line in how]
    for line in runs:
        run(line)
