"""A year of customer classes for the demo stores (docs/care.md, "Classes and churn").

`demo_care_classes_create(stores=…)` runs the real classification (`customers_classify`) as of the last day of the
month a year ago and of each of the 12 months since, in order, then as of today: each run uses only the repair
orders and deliveries before its day, so the class history (`ClassChange`), the churn rate of each month and the
flows come from the demo's own repair orders. The yearly churn it answers (`yearly_churn_pct`) is the share of the
customers classed loyal, regular or new after the first run who are lost after the last one; with the demo's repair
orders it falls between 15 % and 35 % (tested in `aftercare/care/tests/test_classes_demo.py`).

Idempotent: profiles already classified for a later day are left alone, and a rerun of a day writes nothing.
"""

from __future__ import annotations

import datetime as dt

from aftercare.care.choices import CustomerClass
from aftercare.care.models import ClassChange
from aftercare.care.selectors import BASE_CLASSES
from aftercare.care.services.classes import customers_classify
from aftercare.org.calendar import business_date, month_add

MONTHS = 12


def month_ends(today: dt.date, months: int = MONTHS) -> list[dt.date]:
    """The last day of each of the `months` months before `today`'s month, oldest first, after the last day of the
    month before them (the start of the year)."""
    first = today.replace(day=1)
    return [month_add(first, -k) - dt.timedelta(days=1) for k in range(months, -1, -1)]


def _classes_on(store_ids, day: dt.date) -> dict[int, str]:
    """Each customer's class after the run of `day` (its latest change on or before it)."""
    out: dict[int, str] = {}
    rows = (ClassChange.objects.filter(store_id__in=store_ids, on_date__lte=day)
            .order_by("customer_id", "on_date", "id").values_list("customer_id", "to_class"))
    for customer_id, to_class in rows:
        out[customer_id] = to_class
    return out


def demo_care_classes_create(*, stores, today: dt.date | None = None) -> dict[str, int | float]:
    """Classify the stores' customers at each month-end of the last year and today; answers the class changes
    written and the yearly churn of base customers (%)."""
    today = today or business_date()
    store_ids = [s.pk for s in stores]
    days = [*month_ends(today), today]
    changes = 0
    for day in days:
        changes += sum(customers_classify(today=day, store_ids=store_ids).values())
    start, end = _classes_on(store_ids, days[0]), _classes_on(store_ids, days[-1])
    base = [c for c, cls in start.items() if cls in BASE_CLASSES]
    lost = sum(1 for c in base if end.get(c) == CustomerClass.LOST)
    churn = round(100 * lost / len(base), 1) if base else 0.0
    return {"care_class_changes": changes, "yearly_churn_pct": churn}
