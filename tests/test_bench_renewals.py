"""`python -m bench renewals` on a tiny data set: the generator's cases and the hand-written statement's are the same
rows for the daily run and the backfill, and the table reports both with their ratio."""

import datetime as dt

import pytest
from django.db import connection

from bench import renewalsbench

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the hand-written statement is PostgreSQL's"),
]

TODAY = dt.date(2026, 3, 2)


@pytest.mark.django_db
def test_it_makes_the_same_cases_both_ways_and_reports_the_ratio():
    data = renewalsbench.load_data(2000, 3, today=TODAY)
    assert data["policies"] == 2000 and data["vehicles"] == 1250
    ids = [s.pk for s in data["stores"]]
    daily = renewalsbench.bench("daily", ids, TODAY, None, 1)
    backfill = renewalsbench.bench("backfill", ids, TODAY, dt.date(2024, 9, 2), 1)
    assert 100 < daily["cases"] < backfill["cases"]
    lines = []
    renewalsbench.report(data, {"daily": daily, "backfill": backfill}, 1, out=lines.append)
    text = "\n".join(lines)
    assert "2,000 policies / 1,250 vehicles" in text and "in 3 stores" in text
    assert "daily: renewal_cases_generate" in text and "backfill: hand-written INSERT … SELECT" in text
    assert text.count("x\n") >= 2 and "target: renewal_cases_generate within 2x" in text


@pytest.mark.django_db
def test_it_stops_when_the_two_ways_differ(monkeypatch):
    data = renewalsbench.load_data(400, 2, today=TODAY)
    monkeypatch.setattr(renewalsbench, "HAND_WRITTEN", renewalsbench.HAND_WRITTEN.replace(
        "p.expiry_date < %(we)s", "p.expiry_date < %(we)s AND p.kind = 'renewal'"))
    with pytest.raises(SystemExit, match="different cases"):
        renewalsbench.bench("daily", [s.pk for s in data["stores"]], TODAY, dt.date(2024, 9, 2), 1)
