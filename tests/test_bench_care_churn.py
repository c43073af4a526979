"""`python -m bench.care_churnbench` on a tiny data set: every customer with a recent counted visit is scored, each
phase is timed, a second run rewrites the same scores, and the report extrapolates to 1 M."""

import pytest
from django.db import connection

from aftercare.care.models import CareProfile
from bench import care_churnbench

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL"),
]


@pytest.mark.django_db(transaction=True)
def test_it_times_reading_scoring_and_writing_the_scores():
    data = care_churnbench.load_data(400)
    care_churnbench.train_model()
    results = care_churnbench.bench_scoring(data["today"], runs=2)
    assert results[0]["scored"] == results[1]["scored"] > 200
    assert all(r["read"] > 0 and r["score"] > 0 and r["write"] > 0 and r["load"] >= 0 for r in results)
    assert CareProfile.objects.filter(churn_risk__isnull=False).count() == results[0]["scored"]
    lines = []
    care_churnbench.report(data, results, out=lines.append)
    text = "\n".join(lines)
    assert "read s" in text and "load" in text and "linear extrapolation to 1,000,000 customers" in text
