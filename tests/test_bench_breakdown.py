"""`python -m bench.breakdown` (what `python -m bench import --breakdown` runs) times an import by its phases through
the import's public timing hook, and prints every step."""

import pytest
from django.db import connection

from aftercare.dms.importing.timing import PHASES, WRITER_STEPS
from bench import breakdown
from bench.importbench import write_csv


@pytest.mark.django_db
def test_it_prints_the_time_of_each_step_of_an_import(tmp_path, store_a, capsys):
    path = tmp_path / "ro.csv"
    write_csv(path, 200)
    argv = [str(path), "--store", store_a.code, "--chunk-size", "50"]
    postgres = connection.vendor == "postgresql"
    if postgres:
        argv += ["--explain", "2"]  # EXPLAIN ANALYZE (PostgreSQL's) of the second chunk's statements
    assert breakdown.run(breakdown.parse_args(argv)) == 0
    out, err = capsys.readouterr()
    assert out.startswith("created=200 updated=0 unchanged=0 rejected=0; 4 chunks; 0 rows copied directly")
    for name in WRITER_STEPS:
        line = next(line for line in out.splitlines() if PHASES[name].strip() in line)
        assert float(line.split()[-2]) >= 0
    for label in ("commit (deferred foreign-key checks)", "waiting for the reading/validating thread", "total"):
        assert label in out
    if postgres:
        assert "--- INSERT INTO dms_cust" in err and "actual time" in err
