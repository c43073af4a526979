"""`python -m bench.care_remindbench` on a tiny data set: `reminders_make` and the hand-written statement make the
same reminder rows, and the table reports both with their ratio."""

import datetime as dt

import pytest
from django.db import connection

from bench import care_remindbench

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the hand-written statement is PostgreSQL's"),
]

TODAY = dt.date(2026, 3, 2)


@pytest.mark.django_db
def test_it_makes_the_same_reminders_both_ways_and_reports_the_ratio():
    data = care_remindbench.load_data(3000, 3, today=TODAY)
    result = care_remindbench.bench([s.pk for s in data["stores"]], TODAY, 1)
    assert result["reminders"] > 100
    lines = []
    care_remindbench.report(data, result, 1, out=lines.append)
    text = "\n".join(lines)
    assert "3,000 vehicles in 3 stores" in text and "x\n" in text + "\n"
    assert "target: reminders_make within 2x" in text


@pytest.mark.django_db
def test_it_stops_when_the_two_ways_differ(monkeypatch):
    data = care_remindbench.load_data(600, 2, today=TODAY)
    monkeypatch.setattr(care_remindbench, "HAND_WRITTEN", care_remindbench.HAND_WRITTEN.replace(
        "THEN 'no_consent'", "THEN 'call'"))
    with pytest.raises(SystemExit, match="different reminders"):
        care_remindbench.bench([s.pk for s in data["stores"]], TODAY, 1)
