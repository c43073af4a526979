"""Org rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py): a KPI
target whose note carries the canary (the `/kpis/` page shows notes; `GET /api/kpis?store_id=` and
`/api/kpis/{code}/targets` must answer 404 for it)."""

import datetime as dt
from decimal import Decimal

from aftercare.org.models import KpiTarget


def plant(store, canary) -> dict:
    kpi_target = KpiTarget.objects.create(
        store=store,
        measure_code="followups.return_visit_rate",
        period_kind="month",
        period_start=dt.date.today().replace(day=1),
        value=Decimal("12.34"),
        note=canary,
    )
    return {"kpi_target": kpi_target}
