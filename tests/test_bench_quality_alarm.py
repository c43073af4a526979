"""`python -m bench quality-alarm` on a tiny data set: the hand-written statements read the same inputs as the job,
a rerun writes nothing, the report gives the ratios, and the
scorecard ranks every store."""

import pytest
from django.db import connection

from bench import quality_alarmbench

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL"),
]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_reads_what_the_job_reads_and_reports_the_ratio():
    data = quality_alarmbench.load_data(3000, 40_000, 4)
    assert data["vehicles"] == 3000 and data["orders"] == 40_000 and data["reports"] > 400
    alarm = quality_alarmbench.run_alarm(data, repeats=1)
    assert alarm["same_inputs"] and alarm["series"] > 100
    assert alarm["first"]["series"] == alarm["series"] and not alarm["reruns"][0].get("created")
    card = quality_alarmbench.run_scorecard(data, runs=2, page_runs=1)
    assert card["stores"] == 4 and card["ranked"] == 4
    lines = []
    assert quality_alarmbench.report(data, alarm, card, out=lines.append)
    text = "\n".join(lines)
    assert "inputs identical: yes" in text and "rerun (median, writes nothing)" in text and "scorecard 2026-06" in text
