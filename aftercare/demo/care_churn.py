"""The demo's churn-risk part (issue 18): the customers' distance and booking attributes, the hidden churn process
as a hook for the order generator, and a trained model with scores so `gz_cs` sees them.

    demo_churn_create(stores=stores, today=None)   # after the demo history: attributes, train, score

The hook for the order generator (`aftercare/demo/customers.py`, `history()`): instead of the "lost" profile's
random stop, the hidden process decides when a customer stops coming:

    stop = demo_hidden_stop(rng, mobile=<the owner's mobile>, start=low, end=high, warranty_end=warranty_end)
    if stop is not None:
        high = min(high, stop)

The process's survey and complaint factors act on the customer's latent draws here (the follow-up and complaint
demos write their sheets and forms later, from the orders); distance and booking are the attributes
`demo_customer_attributes` gives the same customer, so the stored attributes are the ones the process used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from decimal import Decimal

from aftercare.care.churnsim import monthly_hazard
from aftercare.customers.models import Customer
from aftercare.org.calendar import month_add

LOW_SURVEY_SHARE = 0.08  # of a customer's months, the last survey score was under 900 (the demo's SSI is ~975)
COMPLAINT_MONTHS = 0.06  # of a customer's months, a complaint of the last 6 months is on file


def _unit(key: str, salt: str) -> float:
    digest = hashlib.blake2b(f"{salt}:{key}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / 2**64


def demo_customer_attributes(mobile: str) -> tuple[Decimal, bool]:
    """The demo customer's distance to the store (km, log-normal around 15 km, 1–150) and whether they book
    appointments (40 %), a deterministic function of the customer's mobile."""
    u, v = _unit(mobile, "distance"), _unit(mobile, "books")
    # inverse normal by the logit approximation: enough for a demo spread
    z = math.log(u / (1 - u)) / 1.702
    km = min(150.0, max(1.0, math.exp(math.log(15) + 0.8 * z)))
    return Decimal(f"{km:.1f}"), v < 0.4


def demo_hidden_stop(rng, *, mobile: str, start: dt.date, end: dt.date, warranty_end: dt.date | None) -> dt.date | None:
    """The first day of the month in which the hidden process makes the customer lost (between `start` and `end`),
    or None when they keep coming. `rng` is the generator's random source (anything with `random()`)."""
    distance, books = demo_customer_attributes(mobile)
    day = start.replace(day=1)
    while day <= end:
        p = monthly_hazard(
            last_score=850.0 if rng.random() < LOW_SURVEY_SHARE else 950.0,
            complained_6m=rng.random() < COMPLAINT_MONTHS,
            warranty_ended=warranty_end is not None and warranty_end <= day,
            distance_km=float(distance), books=books,
        )
        if day >= start and rng.random() < float(p):
            return day
        day = month_add(day, 1)
    return None


def demo_churn_attributes(*, stores) -> int:
    """Write distance and booking on every demo customer's care profile (created when missing)."""
    from aftercare.care.models import CareProfile

    rows = []
    for pk, store_id, mobile in Customer.objects.filter(store__in=stores).values_list("pk", "store_id", "mobile"):
        distance, books = demo_customer_attributes(mobile or str(pk))
        rows.append(CareProfile(customer_id=pk, store_id=store_id, distance_km=distance, books_appointments=books))
    CareProfile.objects.bulk_create(rows, batch_size=2000, update_conflicts=True, unique_fields=["customer"],
                                    update_fields=["distance_km", "books_appointments", "updated_at"])
    return len(rows)


def demo_churn_create(*, stores, today: dt.date | None = None) -> dict[str, int]:
    """Attributes, a model trained on the demo's history and today's scores."""
    from aftercare.care.services.churn import churn_model_train, churn_scores_write

    profiles = demo_churn_attributes(stores=stores)
    try:
        churn_model_train(today=today, train_months=12)
    except ValueError:  # a history too short to train on: no scores
        return {"care_profiles": profiles, "churn_scores": 0}
    return {"care_profiles": profiles, "churn_scores": churn_scores_write(today=today)}
