"""`python -m bench.care_churnbench` on a tiny data set: every customer with a recent counted visit is scored, each
phase is timed, a second run rewrites the same scores, and the report extrapolates to 1 M."""

import json

import pytest
from django.db import connection

from aftercare.care.models import ChurnScore
from bench import care_churnbench

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL"),
]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_times_reading_scoring_and_writing_the_scores():
    data = care_churnbench.load_data(400)
    care_churnbench.train_model()
    results = care_churnbench.bench_scoring(data["today"], runs=2)
    assert results[0]["scored"] == results[1]["scored"] > 200
    assert all(r["read"] > 0 and r["score"] > 0 and r["write"] > 0 and r["load"] >= 0 for r in results)
    assert ChurnScore.objects.count() == results[0]["scored"]
    lines = []
    care_churnbench.report(data, results, out=lines.append)
    text = "\n".join(lines)
    assert "read s" in text and "load" in text and "linear extrapolation to 1,000,000 customers" in text


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_times_the_previous_write_alternating_with_the_current_one():
    data = care_churnbench.load_data(400)
    care_churnbench.train_model()
    care_churnbench.legacy_prepare()
    results = care_churnbench.bench_scoring(data["today"], runs=1, legacy=True)
    assert [r["version"] for r in results] == ["legacy", "current"]
    assert results[0]["scored"] == results[1]["scored"] == ChurnScore.objects.count() > 200
    with connection.cursor() as cur:  # the previous write filled the profiles' columns with the same scores
        cur.execute("SELECT customer_id, churn_risk, churn_reasons FROM care_careprofile WHERE churn_risk IS NOT NULL")
        legacy = {c: (r, json.loads(why)) for c, r, why in cur}  # Django reads jsonb as text
    assert legacy == {s.customer_id: (s.risk, s.reasons) for s in ChurnScore.objects.all()}
    lines = []
    care_churnbench.report(data, results, out=lines.append)
    assert "ratio legacy / current" in "\n".join(lines)
