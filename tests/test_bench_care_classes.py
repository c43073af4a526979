"""`python -m bench care-classes` on a tiny data set: the job and the hand-written statement classify every customer
alike (no profile or class change differs), the rerun writes no change, the report gives the ratios and the
classes page answers in a few queries."""

import pytest
from django.db import connection

from bench import care_classesbench

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL"),
]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_classifies_like_the_hand_written_statement_and_reports_the_ratio():
    data = care_classesbench.load_data(300)
    assert data["orders"] > 300
    hand = care_classesbench.run_hand(data)
    assert sum(hand["classes"].values()) == 300 and len(hand["classes"]) >= 3
    ours = care_classesbench.run_ours(data)
    assert [r["changes"] for r in ours["runs"]][:2] == [300, 0]
    assert [r["changes"] for r in ours["runs"]] == [r["changes"] for r in hand["runs"]]
    assert (ours["differ_profiles"], ours["differ_changes"]) == (0, 0)
    page = care_classesbench.run_page(data, repeats=1, history_repeats=1)
    assert page["queries"] <= 20 and page["same_flows"] and page["summary_rows"] > 0
    assert page["flow_same"] and page["flow_n"] > 0
    lines = []
    assert care_classesbench.report(data, ours, hand, page, out=lines.append)
    text = "\n".join(lines)
    assert "first run" in text and "next day" in text and "rows differing: profiles 0, class changes 0" in text
