"""`python -m bench care-classes` on a tiny data set: the job and the hand-written statement classify every customer
alike (no row differs), the rerun writes no change, and the report gives the ratio."""

import pytest
from django.db import connection

from bench import care_classesbench

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL"),
]


@pytest.mark.django_db(transaction=True)
def test_it_classifies_like_the_hand_written_statement_and_reports_the_ratio():
    data = care_classesbench.load_data(300)
    assert data["orders"] > 300
    ours = care_classesbench.run_ours(data)
    assert ours["changes"] == 300 and ours["rerun_changes"] == 0
    hand = care_classesbench.run_hand(data)
    assert hand["differ"] == 0 and sum(hand["classes"].values()) == 300 and len(hand["classes"]) >= 3
    lines = []
    assert care_classesbench.report(data, ours, hand, out=lines.append)
    text = "\n".join(lines)
    assert "ratio (first run / hand-written)" in text and "rows differing: 0" in text
