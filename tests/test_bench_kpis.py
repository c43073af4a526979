"""`python -m bench kpis` (bench/kpisbench.py) on a tiny dataset (PostgreSQL: the loader is `generate_series`): every
catalogue measure is timed for the three scopes, and the hand-written aggregates give the catalogue's figures."""

from decimal import Decimal

import pytest
from django.db import connection

from bench import kpisbench as kb


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_times_every_measure_and_matches_the_hand_written_aggregates():
    if connection.vendor != "postgresql":
        pytest.skip("the bench loader needs PostgreSQL (generate_series)")
    from aftercare.org.kpis import measures

    data = kb.load(5000, 2)
    assert data["tasks"] > 0 and data["sheets"] > 0
    rows = kb.bench(data, repeats=1)  # aborts (SystemExit) when a hand-written aggregate differs
    assert [r["code"] for r in rows] == [m.code for m in measures()]
    lag = next(r for r in rows if r["code"] == "followups.handover_lag")
    assert lag["group_year_rows"] == 2 and lag["group_year_hand"] > 0
    assert "hand" in kb._cell(lag, "group_year") and "x)" in kb._cell(lag, "group_year")


def test_it_rounds_the_hand_written_rows_as_the_catalogue_does():
    assert kb.hand_values("followups.handover_lag", [(1, 17 * 3600, 4)]) == {1: (Decimal("4.3"), 4)}
    assert kb.hand_values("followups.ssi_score", [(1, Decimal("1941"), 2)]) == {1: (Decimal("970.5"), 2)}
    assert kb.hand_values("followups.handover_error_rate", [(2, 1, 3)]) == {2: (Decimal("33.3"), 3)}
