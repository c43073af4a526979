"""The demo's churn-risk part (issue 18): the customers' distance and booking attributes, the hidden churn process
as a hook for the order generator, and a trained model with scores so `gz_cs` sees them.

    demo_churn_create(stores=stores, today=None)   # after the demo history: attributes, train, score

The order generator (`aftercare/demo/customers.py`, `_Gen.hidden_stop`) asks `demo_hidden_stop` once per customer
(with their mobile, the start of their history and their first vehicle's warranty end) when the hidden process
makes them lost, and ends the history of their vehicles there: a customer lost in month m has no repair order after
the first day of m. The draw comes from the block's random source, so the demo seed fixes it.

The process's survey and complaint factors act on the customer's latent state here (the follow-up and complaint
demos write their sheets and forms later, from the orders); distance and booking are the attributes
`demo_customer_attributes` gives the same customer, so the stored attributes are the ones the process used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from decimal import Decimal

from aftercare.care.churnsim import BASE_MONTHLY
from aftercare.customers.models import Customer

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


def hidden_hazard(*, low_survey: float, complained: float, warranty_ended: bool, distance_km: float,
                  books: bool) -> float:
    """The hidden process's monthly probability (`churnsim.monthly_hazard`, for one customer, in plain Python).
    `low_survey` and `complained` are 0/1 for a known state or a share for a latent one: the product is linear in
    each, so a share gives the month's probability averaged over the latent draw."""
    p = BASE_MONTHLY * (1 + low_survey) * (1 + 0.8 * complained) * (1.5 if warranty_ended else 1.0)
    p *= 1.3 ** (max(distance_km - 20.0, 0.0) / 20.0) * (0.6 if books else 1.0)
    return min(p, 1.0)


def demo_hidden_stop(rng, *, mobile: str, start: dt.date, end: dt.date, warranty_end: dt.date | None) -> dt.date | None:
    """The first day of the month in which the hidden process makes the customer lost (between `start` and `end`),
    or None when they keep coming. `rng` is the generator's random source (anything with `random()`).

    One draw per customer: the month is the first whose survival falls below it (the inverse of the month-by-month
    process). The survey and complaint states are latent (the follow-up and complaint demos write their sheets after
    the orders), so each month's probability is averaged over them — the same law as drawing them each month, since
    the probability never reaches 1 (at most 1.5 % × 2.0 × 1.8 × 1.5 × 1.3^6.5 ≈ 45 %)."""
    distance, books = demo_customer_attributes(mobile)
    keep = [1.0 - hidden_hazard(low_survey=LOW_SURVEY_SHARE, complained=COMPLAINT_MONTHS, warranty_ended=ended,
                                distance_km=float(distance), books=books) for ended in (False, True)]
    u = rng.random()
    survival = 1.0
    # months as year * 12 + month - 1; the first month counted is the first starting on or after `start`
    first = start.year * 12 + start.month - (1 if start.day == 1 else 0)
    last = end.year * 12 + end.month - 1
    ended = last + 1 if warranty_end is None else warranty_end.year * 12 + warranty_end.month - (warranty_end.day == 1)
    for month in range(first, last + 1):
        survival *= keep[month >= ended]  # the warranty has ended by the first of the month
        if survival < u:
            return dt.date(month // 12, month % 12 + 1, 1)
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
