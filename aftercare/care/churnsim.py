"""The demo's hidden churn process (issue 18, fixed there so that no one tunes it to the model) and a simulator of
a group's history that follows it, in memory, for the backtest of `manage.py churn_backtest`.

Hidden process: each month a customer who still comes becomes lost (never comes again) with probability
1.5 % × 2.0 if their last survey score was under 900 × 1.8 if they filed a complaint in the last 6 months × 1.5
once the warranty has ended × 1.3 per 20 km beyond 20 km to the store (continuous: 1.3 ** ((km − 20) / 20))
× 0.6 if they book appointments.

The rest of the simulated world is ours: vehicles delivered over five years with a 3-year warranty, visits every
4–6 months (each customer their own interval, ±10 %), a survey after 70 % of visits, complaints after some, and
mileage readings at each visit. Days are day numbers from the simulation's start; a month is 30.44 days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .churnmodel import DAY_6M, DAY_12M, DAY_24M, LOW_SURVEY_SCORE, empty_aggregates

MONTH = 30.4375
BASE_MONTHLY = 0.015
KM_LO, KM_HI, SERVICE_KM = 25, 100, 5000


def monthly_hazard(*, last_score, complained_6m, warranty_ended, distance_km, books) -> np.ndarray:
    """The hidden process's monthly probability of becoming lost (vectorised; `last_score` nan when none)."""
    p = np.full(np.shape(distance_km), BASE_MONTHLY)
    p = p * np.where(np.nan_to_num(last_score, nan=1000.0) < LOW_SURVEY_SCORE, 2.0, 1.0)
    p = p * np.where(complained_6m, 1.8, 1.0)
    p = p * np.where(warranty_ended, 1.5, 1.0)
    p = p * 1.3 ** (np.maximum(np.asarray(distance_km, dtype=float) - 20.0, 0.0) / 20.0)
    p = p * np.where(books, 0.6, 1.0)
    return np.minimum(p, 1.0)


@dataclass
class History:
    """A simulated group history: customer attributes and event tables (numpy arrays)."""

    n: int
    delivery: np.ndarray
    warranty_end: np.ndarray
    distance_km: np.ndarray
    books: np.ndarray
    lost_at: np.ndarray  # day the customer became lost (inf: never), hidden from the features
    visit_cust: np.ndarray
    visit_day: np.ndarray
    visit_amount: np.ndarray
    visit_mileage: np.ndarray
    survey_cust: np.ndarray
    survey_day: np.ndarray
    survey_score: np.ndarray
    complaint_cust: np.ndarray
    complaint_day: np.ndarray


def simulate(*, customers: int = 3000, months: int = 84, seed: int = 0) -> History:
    """Simulate `months` months of `customers` customers following the hidden process."""
    rng = np.random.default_rng(seed)
    n = customers
    delivery = rng.uniform(0, 60, n) * MONTH
    warranty_end = delivery + 3 * DAY_12M
    distance = np.clip(rng.lognormal(np.log(15), 0.8, n), 1, 150)
    books = rng.random(n) < 0.4
    km_per_day = rng.uniform(KM_LO, KM_HI, n)
    # maintenance every 10,000 km or 6 months, whichever first: 3–6 months
    interval = np.minimum(182.0, SERVICE_KM / km_per_day)
    unhappy = rng.random(n) < 0.2  # customers whose surveys are more often under 900
    difficult = rng.random(n) < 0.1  # customers who complain more often
    p_low = np.where(unhappy, 0.5, 0.1)
    p_complaint = np.where(difficult, 0.25, 0.04)

    lost_at = np.full(n, np.inf)
    next_visit = delivery + rng.uniform(60, 180, n)
    last_score = np.full(n, np.nan)
    last_complaint = np.full(n, -np.inf)
    visits: list[tuple[np.ndarray, ...]] = []
    surveys: list[tuple[np.ndarray, ...]] = []
    complaints: list[tuple[np.ndarray, ...]] = []
    for m in range(months):
        start, end = m * MONTH, (m + 1) * MONTH
        # churn at the start of the month, from the state as of then
        alive = np.isinf(lost_at) & (delivery <= start)
        p = monthly_hazard(last_score=last_score, complained_6m=last_complaint > start - DAY_6M,
                           warranty_ended=warranty_end <= start, distance_km=distance, books=books)
        lost_now = alive & (rng.random(n) < p)
        lost_at[lost_now] = start
        # visits within the month
        due = np.isinf(lost_at) & (next_visit < end)
        idx = np.nonzero(due)[0]
        if idx.size:
            day = next_visit[idx]
            amount = np.round(rng.lognormal(np.log(800), 0.6, idx.size), 2)
            mileage = np.round(km_per_day[idx] * (day - delivery[idx]) * rng.uniform(0.95, 1.05, idx.size))
            visits.append((idx, day, amount, mileage))
            answered = rng.random(idx.size) < 0.7
            low = rng.random(idx.size) < p_low[idx]
            score = np.where(low, rng.uniform(600, 899, idx.size), rng.uniform(900, 1000, idx.size)).round()
            s_idx, s_day = idx[answered], day[answered] + 3
            surveys.append((s_idx, s_day, score[answered]))
            complained = rng.random(idx.size) < p_complaint[idx]
            c_idx, c_day = idx[complained], day[complained] + rng.uniform(0, 14, int(complained.sum()))
            complaints.append((c_idx, c_day))
            # the state the hazard reads (as of the survey / complaint day; a month's granularity is enough)
            last_score[s_idx] = score[answered]
            last_complaint[c_idx] = np.maximum(last_complaint[c_idx], c_day)
            next_visit[idx] = day + interval[idx] * rng.uniform(0.9, 1.1, idx.size)

    def cat(parts, k, dtype=float):
        return np.concatenate([p[k] for p in parts]).astype(dtype) if parts else np.zeros(0, dtype)

    return History(
        n=n, delivery=delivery, warranty_end=warranty_end, distance_km=distance, books=books, lost_at=lost_at,
        visit_cust=cat(visits, 0, int), visit_day=cat(visits, 1), visit_amount=cat(visits, 2),
        visit_mileage=cat(visits, 3),
        survey_cust=cat(surveys, 0, int), survey_day=cat(surveys, 1), survey_score=cat(surveys, 2),
        complaint_cust=cat(complaints, 0, int), complaint_day=cat(complaints, 1),
    )


def aggregates_from_events(h: History, cutoff: float) -> dict[str, np.ndarray]:
    """The per-customer aggregates of `churnmodel.AGGREGATES` as of day `cutoff`: what the database path reads with
    its queries, from the simulated events before the cutoff."""
    n = h.n
    agg = empty_aggregates(n)
    before = h.visit_day < cutoff
    c, d = h.visit_cust[before], h.visit_day[before]
    amount, mileage = h.visit_amount[before], h.visit_mileage[before]
    np.fmax.at(agg["last_visit"], c, d)
    np.fmin.at(agg["first_visit"], c, d)
    agg["n_visits"] = np.bincount(c, minlength=n).astype(float)
    for k, span in (("6m", DAY_6M), ("12m", DAY_12M), ("24m", DAY_24M)):
        w = d >= cutoff - span
        agg[f"visits_{k}"] = np.bincount(c[w], minlength=n).astype(float)
        if k != "6m":
            agg[f"spend_{k}"] = np.bincount(c[w], weights=amount[w], minlength=n)
    np.fmin.at(agg["mileage_min"], c, mileage)
    np.fmax.at(agg["mileage_max"], c, mileage)
    agg["mileage_day_min"], agg["mileage_day_max"] = agg["first_visit"].copy(), agg["last_visit"].copy()
    delivered = h.delivery < cutoff
    agg["delivery"] = np.where(delivered, h.delivery, np.nan)
    agg["warranty_end"] = np.where(delivered, h.warranty_end, np.nan)
    w = (h.complaint_day < cutoff) & (h.complaint_day >= cutoff - DAY_6M)
    agg["complaints_6m"] = np.bincount(h.complaint_cust[w], minlength=n).astype(float)
    w = h.survey_day < cutoff
    sc, sd, ss = h.survey_cust[w], h.survey_day[w], h.survey_score[w]
    order = np.lexsort((sd, sc))
    sc, ss = sc[order], ss[order]
    last = np.ones(sc.size, bool)
    last[:-1] = sc[1:] != sc[:-1]
    agg["survey_score"][sc[last]] = ss[last]
    agg["distance_km"] = h.distance_km.astype(float)
    agg["books_appointments"] = h.books.astype(float)
    return agg


def labels(h: History, cutoff: float) -> np.ndarray:
    """1 when the customer has no visit in the 6 months after the cutoff (lost within 6 months)."""
    w = (h.visit_day >= cutoff) & (h.visit_day < cutoff + DAY_6M)
    return (np.bincount(h.visit_cust[w], minlength=h.n) == 0).astype(int)


def dataset(h: History, cutoffs) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of the customers active at each cutoff, stacked."""
    from .churnmodel import active_mask, features_assemble

    xs, ys = [], []
    for cutoff in cutoffs:
        agg = aggregates_from_events(h, cutoff)
        act = active_mask(agg)
        xs.append(features_assemble(agg, cutoff)[act])
        ys.append(labels(h, cutoff)[act])
    return np.vstack(xs), np.concatenate(ys)


def backtest_history(h: History, *, train_cutoffs, split: float) -> dict:
    """Train on the cutoffs `train_cutoffs` (days; their 6-month labels should end by `split`), test on the
    customers active at day `split` and their next 6 months. AUC of the model and of the rule "days since the last
    visit". Shared by the simulator's backtest and the demo generator's (`aftercare/demo/care_churn.py`)."""
    from .churnmodel import FEATURE_NAMES, auc, model_fit

    X, y = dataset(h, train_cutoffs)
    model = model_fit(X, y)
    Xt, yt = dataset(h, [split])
    days_since = Xt[:, FEATURE_NAMES.index("days_since_last_visit")]
    auc_model, auc_rule = auc(yt, model.predict(Xt)), auc(yt, days_since)
    return {"train_rows": int(len(y)), "test_rows": int(len(yt)), "test_lost": float(yt.mean()),
            "auc_model": auc_model, "auc_rule": auc_rule, "gain": auc_model - auc_rule, "model": model}


def backtest(*, seed: int, customers: int = 3000, months: int = 84, split_month: int = 72) -> dict:
    """Time split on one simulated history: train on cutoffs every month whose 6-month label window ends by the
    split, test on the customers active at the split and their next 6 months (`backtest_history`)."""
    h = simulate(customers=customers, months=months, seed=seed)
    split = split_month * MONTH
    train_cutoffs = [m * MONTH for m in range(24, split_month - 5)]
    return {"seed": seed, **backtest_history(h, train_cutoffs=train_cutoffs, split=split)}
