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


# ---- the backtest on the demo generator's own history (issue 18's pass, in memory) ----


def demo_history(seed, *, customers: int = 3000, months: int = 18, now: dt.datetime | None = None):
    """The history that the demo's order generator (`customers.generate_chunk`, store GZ01) plans for `customers`
    customers with random source `FastRandom(seed)`, over `months` months ending at `now` (the demo: 18), as a
    `churnsim.History` (no database). Day numbers count from the window's start (00:00 Asia/Shanghai).

    Visits are the counted repair orders (`care.visits.COUNTED_KINDS`) with their amount and mileage; a customer's
    delivery and warranty end are those of the newest vehicle they ever owned; distance and booking are
    `demo_customer_attributes` of their mobile (what `demo_churn_attributes` stores). The generator's survey and
    complaint factors act on a latent state (see `demo_hidden_stop`), so the history has no surveys or complaints;
    when a customer became lost is not in the orders either (`lost_at` is all inf: the labels come from visits).
    Returns (history, the day number of `now`)."""
    import numpy as np

    from aftercare.care.churnsim import History
    from aftercare.care.visits import COUNTED_KINDS

    from .customers import TZ, Context, FastRandom, generate_chunk, months_before
    from .org import STORES

    ctx = Context.build(now)
    ctx.window_start = months_before(ctx.today, months)
    chunk = generate_chunk(rng=FastRandom(seed), ctx=ctx, spec=STORES[0], customers=customers)
    origin = dt.datetime(ctx.window_start.year, ctx.window_start.month, ctx.window_start.day, tzinfo=TZ)

    def day_of(value) -> float:
        if not isinstance(value, dt.datetime):
            value = dt.datetime(value.year, value.month, value.day, tzinfo=TZ)
        return (value - origin).total_seconds() / 86400

    n = len(chunk.customers)
    delivery, warranty_end = np.full(n, np.nan), np.full(n, np.nan)
    for v, c, _start, _stop in chunk.ownerships:
        vehicle = chunk.vehicles[v]
        d = day_of(vehicle[4])
        if np.isnan(delivery[c]) or d > delivery[c]:
            delivery[c], warranty_end[c] = d, day_of(vehicle[5])
    attributes = [demo_customer_attributes(row[1]) for row in chunk.customers]
    counted = set(COUNTED_KINDS)
    visits = [(c, day_of(moment), float(amount), float(km))
              for _v, c, moment, kind, amount, km, *_rest in chunk.repair_orders if kind in counted]
    cols = list(zip(*visits, strict=True)) if visits else [(), (), (), ()]
    empty_i, empty_f = np.zeros(0, int), np.zeros(0)
    h = History(
        n=n, delivery=delivery, warranty_end=warranty_end,
        distance_km=np.array([float(d) for d, _b in attributes]), books=np.array([b for _d, b in attributes]),
        lost_at=np.full(n, np.inf),
        visit_cust=np.array(cols[0], dtype=int), visit_day=np.array(cols[1], dtype=float),
        visit_amount=np.array(cols[2], dtype=float), visit_mileage=np.array(cols[3], dtype=float),
        survey_cust=empty_i, survey_day=empty_f, survey_score=empty_f, complaint_cust=empty_i, complaint_day=empty_f,
    )
    return h, day_of(ctx.now)


def demo_backtest(seed, *, customers: int = 3000, months: int = 18, now: dt.datetime | None = None,
                  first_train_month: int = 3) -> dict:
    """Issue 18's time split on the demo generator's history (`demo_history`): test on the customers active 6
    months before `now` and their 6 months to `now`; train on monthly cutoffs whose 6-month labels end by then,
    back to `first_train_month` months after the window's start (a cutoff needs some months of history before it).
    `churnsim.backtest_history` does the rest, as for the simulator."""
    from aftercare.care.churnmodel import DAY_6M
    from aftercare.care.churnsim import MONTH, backtest_history

    h, end = demo_history(seed, customers=customers, months=months, now=now)
    split = end - DAY_6M
    train_cutoffs = []
    cutoff = split - DAY_6M
    while cutoff >= first_train_month * MONTH:
        train_cutoffs.append(cutoff)
        cutoff -= MONTH
    if not train_cutoffs:
        raise ValueError("the window is too short to train before the split")
    return {"seed": seed, "customers": h.n, "train_cutoffs": len(train_cutoffs),
            **backtest_history(h, train_cutoffs=train_cutoffs, split=split)}
