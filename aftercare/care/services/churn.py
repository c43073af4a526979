"""The churn-risk score on the database: read the features set-based (one query per feature family), train the
model with a time-split backtest, and score every active customer in bulk (`churnmodel.py` defines label, features
and model; docs/care.md, "Churn-risk score").

    churn_aggregates_read(cutoff=day)                 # -> (customer ids, store ids, aggregates as of the day)
    churn_model_train(actor=None, today=day)          # -> ChurnModel row with its backtest
    churn_scores_write(today=day)                     # -> number of customers scored
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, F, FloatField, Func, Max, Min, Q, Sum
from django.utils import timezone

from aftercare.complaints.choices import FeedbackKind
from aftercare.complaints.models import Feedback
from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.models import Ownership, RepairOrder
from aftercare.followups.models import AnswerSheet
from aftercare.org.calendar import business_date, business_day_start, month_add

from .. import churnmodel as cm
from ..models import CareProfile, ChurnModel
from ..visits import counted

DAY = 86400.0
HORIZON = dt.timedelta(days=183)  # "6 months" of the label, in days
COMPLAINT_KINDS = (FeedbackKind.COMPLAINT, FeedbackKind.GRIEVANCE)
BATCH_SIZE = 5000  # profiles a bulk upsert writes at once (SQLite)


def _day(seconds) -> float:
    """Day number of an instant given in epoch seconds (`_epoch`)."""
    return float(seconds) / DAY if seconds is not None else np.nan


def _epoch(field: str):
    """The instant in `field` as epoch seconds, computed by the database (converting a million datetimes in Python
    is most of the read otherwise)."""
    if connection.vendor == "postgresql":
        return Func(F(field), template="EXTRACT(EPOCH FROM %(expressions)s)", output_field=FloatField())
    return Func(F(field), template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)", output_field=FloatField())


def _date_day(day: dt.date | None) -> float:
    return business_day_start(day).timestamp() / DAY if day is not None else np.nan


def cutoff_day(cutoff: dt.date) -> float:
    """The day number (`_day`) of 00:00 Asia/Shanghai of `cutoff`: the "as of" of the features."""
    return business_day_start(cutoff).timestamp() / DAY


def _positions(ids: np.ndarray, found: list) -> tuple[np.ndarray, np.ndarray]:
    """Rows of `found` (first column customer ids) whose customer is in the sorted, non-empty `ids`: (row mask,
    positions)."""
    if not found:
        return np.zeros(0, bool), np.zeros(0, int)
    fid = np.fromiter((r[0] for r in found), dtype=np.int64, count=len(found))
    pos = np.clip(np.searchsorted(ids, fid), 0, len(ids) - 1)
    return ids[pos] == fid, pos


def _column(rows: list, k: int, conv=float) -> np.ndarray:
    return np.array([conv(r[k]) if r[k] is not None else np.nan for r in rows], dtype=float)


def churn_aggregates_read(*, cutoff: dt.date) -> tuple[np.ndarray, np.ndarray, dict]:
    """The aggregates of `churnmodel.AGGREGATES` of every customer with a counted visit before `cutoff` (00:00
    Asia/Shanghai), reading only data before it: customer ids (sorted), their store ids, the aggregates."""
    end = business_day_start(cutoff)
    since = {k: end - dt.timedelta(days=d) for k, d in (("6m", 183), ("12m", 365), ("24m", 730))}
    orders = RepairOrder.objects.filter(settled_at__lt=end)
    # family 1: counted visits and spend
    visits = list(
        counted(orders).values("customer_id").order_by("customer_id").annotate(
            store=Max("store_id"), last=Max(_epoch("settled_at")), first=Min(_epoch("settled_at")), n=Count("id"),
            v6=Count("id", filter=Q(settled_at__gte=since["6m"])),
            v12=Count("id", filter=Q(settled_at__gte=since["12m"])),
            v24=Count("id", filter=Q(settled_at__gte=since["24m"])),
            s12=Sum("amount", filter=Q(settled_at__gte=since["12m"])),
            s24=Sum("amount", filter=Q(settled_at__gte=since["24m"])),
        ).values_list("customer_id", "store", "last", "first", "n", "v6", "v12", "v24", "s12", "s24")
    )
    ids = np.array([r[0] for r in visits], dtype=np.int64)
    stores = np.array([r[1] for r in visits], dtype=np.int64)
    n = len(ids)
    agg = cm.empty_aggregates(n)
    if not n:
        return ids, stores, agg
    agg["last_visit"] = _column(visits, 2, _day)
    agg["first_visit"] = _column(visits, 3, _day)
    for k, col in (("n_visits", 4), ("visits_6m", 5), ("visits_12m", 6), ("visits_24m", 7), ("spend_12m", 8),
                   ("spend_24m", 9)):
        agg[k] = np.nan_to_num(_column(visits, col))
    # family 2: mileage readings and appointments (books: at least half of the orders of the last 24 months came by
    # appointment, or the profile says so), from every repair order (counted or not)
    readings = list(
        orders.values("customer_id").order_by("customer_id").annotate(
            kmin=Min("mileage"), kmax=Max("mileage"),
            dmin=Min(_epoch("settled_at"), filter=Q(mileage__isnull=False)),
            dmax=Max(_epoch("settled_at"), filter=Q(mileage__isnull=False)),
            n24=Count("id", filter=Q(settled_at__gte=since["24m"])),
            booked=Count("id", filter=Q(settled_at__gte=since["24m"], booked=True)),
        ).values_list("customer_id", "kmin", "kmax", "dmin", "dmax", "n24", "booked")
    )
    ok, pos = _positions(ids, readings)
    for k, col, conv in (("mileage_min", 1, float), ("mileage_max", 2, float), ("mileage_day_min", 3, _day),
                         ("mileage_day_max", 4, _day)):
        agg[k][pos[ok]] = _column(readings, col, conv)[ok]
    n24, booked = _column(readings, 5), _column(readings, 6)
    agg["books_appointments"][pos[ok]] = ((n24 > 0) & (booked * 2 >= n24)).astype(float)[ok]
    # family 3: the vehicles owned at the cutoff (the newest delivery)
    owned = list(
        Ownership.objects.filter(valid_from__lt=cutoff)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=cutoff))
        .values("customer_id").order_by("customer_id")
        .annotate(delivery=Max("vehicle__delivery_date"), warranty=Max("vehicle__warranty_end"))
        .values_list("customer_id", "delivery", "warranty")
    )
    ok, pos = _positions(ids, owned)
    agg["delivery"][pos[ok]] = _column(owned, 1, _date_day)[ok]
    agg["warranty_end"][pos[ok]] = _column(owned, 2, _date_day)[ok]
    # family 4: complaints filed in the last 6 months
    complaints = list(
        Feedback.objects
        .filter(kind__in=COMPLAINT_KINDS, created_at__gte=since["6m"], created_at__lt=end)
        .values("customer_id").order_by("customer_id")
        .annotate(n=Count("id")).values_list("customer_id", "n")
    )
    ok, pos = _positions(ids, complaints)
    agg["complaints_6m"][pos[ok]] = _column(complaints, 1)[ok]
    # family 5: the last survey score (1000 points) before the cutoff
    sheets = AnswerSheet.objects.filter(answered_at__lt=end, score_total__isnull=False)
    if connection.vendor == "postgresql":
        last = list(sheets.order_by("task__customer_id", "-answered_at", "-id").distinct("task__customer_id")
                    .values_list("task__customer_id", "score_total"))
    else:
        latest: dict[int, float] = {}
        for cid, score in sheets.order_by("answered_at", "id").values_list("task__customer_id", "score_total"):
            latest[cid] = score
        last = sorted(latest.items())
    ok, pos = _positions(ids, last)
    agg["survey_score"][pos[ok]] = _column(last, 1)[ok]
    # family 6: the customer's attributes on the care profile
    profiles = list(CareProfile.objects
                    .filter(Q(distance_km__isnull=False) | Q(books_appointments=True))
                    .order_by("customer_id").values_list("customer_id", "distance_km", "books_appointments"))
    ok, pos = _positions(ids, profiles)
    agg["distance_km"][pos[ok]] = _column(profiles, 1)[ok]
    marked = np.zeros(len(ids))
    marked[pos[ok]] = _column(profiles, 2)[ok]
    agg["books_appointments"] = np.maximum(agg["books_appointments"], marked)
    return ids, stores, agg


def churn_dataset(*, cutoff: dt.date) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Features of the customers active at `cutoff` and their label (no counted visit in the 6 months after):
    (customer ids, store ids, X, y); y is only meaningful when the 6 months are past."""
    ids, stores, agg = churn_aggregates_read(cutoff=cutoff)
    act = cm.active_mask(agg)
    X = cm.features_assemble(agg, cutoff_day(cutoff))[act]
    ids, stores = ids[act], stores[act]
    start = business_day_start(cutoff)
    came = set(counted(RepairOrder.objects.filter(settled_at__gte=start, settled_at__lt=start + HORIZON))
               .values_list("customer_id", flat=True).distinct())
    y = np.array([0 if int(c) in came else 1 for c in ids], dtype=int)
    return ids, stores, X, y


def churn_model_train(*, actor=None, today: dt.date | None = None, train_months: int = 18) -> ChurnModel:
    """Train on the group's history and test on a later period: the backtest cutoff is the first of the month 6
    months before `today` (so its 6-month label is known); training uses monthly cutoffs of the `train_months`
    months whose labels end by the backtest cutoff. Then refit on every cutoff up to the backtest's and store it."""
    today = today or business_date()
    test_cutoff = month_add(today.replace(day=1), -7)
    train_cutoffs = [month_add(test_cutoff, -6 - k) for k in range(train_months)]
    parts = [churn_dataset(cutoff=c) for c in train_cutoffs]
    X = np.vstack([p[2] for p in parts]) if parts else np.zeros((0, len(cm.FEATURE_NAMES)))
    y = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0, int)
    if len(set(y.tolist())) < 2:
        raise ValueError("Not enough history to train: the training customers are all lost or all kept.")
    model = cm.model_fit(X, y)
    _ids, _stores, Xt, yt = churn_dataset(cutoff=test_cutoff)
    days_since = Xt[:, cm.FEATURE_NAMES.index("days_since_last_visit")] if len(yt) else np.zeros(0)
    auc_model = cm.auc(yt, model.predict(Xt)) if len(yt) else float("nan")
    auc_rule = cm.auc(yt, days_since) if len(yt) else float("nan")
    metrics = {
        "train_from": str(train_cutoffs[-1]), "train_until": str(train_cutoffs[0]), "test_cutoff": str(test_cutoff),
        "train_rows": int(len(y)), "train_lost": float(y.mean()), "test_rows": int(len(yt)),
        "test_lost": float(yt.mean()) if len(yt) else None,
        "auc_model": _round(auc_model), "auc_rule": _round(auc_rule), "gain": _round(auc_model - auc_rule),
    }
    # the stored model also learns from the backtest period
    final = cm.model_fit(np.vstack([X, Xt]), np.concatenate([y, yt])) if len(set(yt.tolist())) == 2 else model
    with transaction.atomic():
        row = ChurnModel(trained_at=timezone.now(), cutoff=test_cutoff, feature_names=list(cm.FEATURE_NAMES),
                         coefficients=final.coefficients(), model=final.dumps(), metrics=metrics)
        row.full_clean()
        row.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=row, detail=metrics)
    return row


def _round(x: float) -> float | None:
    return None if x != x else round(float(x), 4)


def churn_model_current() -> tuple[ChurnModel, cm.TrainedModel] | None:
    row = ChurnModel.objects.order_by("-trained_at", "-id").first()
    if row is None:
        return None
    return row, cm.TrainedModel.loads(row.model, row.feature_names)


def churn_scores_write(*, today: dt.date | None = None, timings: dict | None = None) -> int:
    """Score every customer active today with the newest model: `churn_risk`, `churn_reasons` (codes of
    `churnmodel.reason_label`) and `scored_on`, upserted in bulk; the scores of customers no longer active are
    cleared. Idempotent: a rerun the same day writes the same values. `timings` (a dict) gets the seconds of
    each phase: read, score, write."""
    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    today = today or business_date()
    current = churn_model_current()
    if current is None:
        return 0
    _row, model = current
    cutoff = today + dt.timedelta(days=1)
    ids, stores, agg = churn_aggregates_read(cutoff=cutoff)
    act = cm.active_mask(agg)
    X = cm.features_assemble(agg, cutoff_day(cutoff))[act]
    ids, stores = ids[act], stores[act]
    t1 = time.perf_counter()
    timings["read"] = t1 - t0
    risk = model.predict(X) if len(ids) else np.zeros(0)
    reasons = model.reasons(X) if len(ids) else []
    risk = np.round(risk, 4)
    t2 = time.perf_counter()
    timings["score"] = t2 - t1
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _upsert_copy(ids, stores, risk, reasons, today)
        else:
            rows = [CareProfile(customer_id=int(c), store_id=int(s), churn_risk=float(r), churn_reasons=why,
                                scored_on=today)
                    for c, s, r, why in zip(ids, stores, risk, reasons, strict=True)]
            for i in range(0, len(rows), BATCH_SIZE):
                CareProfile.objects.bulk_create(
                    rows[i:i + BATCH_SIZE], update_conflicts=True, unique_fields=["customer"],
                    update_fields=["churn_risk", "churn_reasons", "scored_on", "updated_at"],
                )
        stale = CareProfile.objects.filter(churn_risk__isnull=False).exclude(scored_on=today)
        stale.update(churn_risk=None, churn_reasons=[], scored_on=today)
    timings["write"] = time.perf_counter() - t2
    return len(ids)


def _upsert_copy(ids, stores, risk, reasons, today: dt.date) -> None:
    """PostgreSQL: COPY the scores into a temporary table, then one INSERT … ON CONFLICT (customer) DO UPDATE of
    the score columns (new profiles get every other column's model default)."""
    import json

    now = timezone.now()
    given = {"store_id": "s.store_id", "customer_id": "s.customer_id", "churn_risk": "s.risk",
             "churn_reasons": "s.reasons", "scored_on": "%(today)s", "created_at": "%(now)s", "updated_at": "%(now)s"}
    params: dict = {"today": today, "now": now}
    cols, values = [], []
    for f in CareProfile._meta.concrete_fields:
        if f.primary_key:
            continue
        cols.append(f.column)
        if f.column in given:
            values.append(given[f.column])
        elif f.null:
            values.append("NULL")
        else:
            params[f"d_{f.column}"] = f.get_db_prep_save(f.get_default(), connection)
            values.append(f"%(d_{f.column})s")
    table = CareProfile._meta.db_table
    with connection.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE care_churn_scores (customer_id bigint, store_id bigint, "
                    "risk double precision, reasons jsonb) ON COMMIT DROP")
        with cur.copy("COPY care_churn_scores FROM STDIN") as copy:
            for c, s, r, why in zip(ids.tolist(), stores.tolist(), risk.tolist(), reasons, strict=True):
                copy.write_row((c, s, r, json.dumps(why)))
        cur.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(values)} FROM care_churn_scores s "
            f"ON CONFLICT (customer_id) DO UPDATE SET churn_risk = EXCLUDED.churn_risk, "
            f"churn_reasons = EXCLUDED.churn_reasons, scored_on = EXCLUDED.scored_on, "
            f"updated_at = EXCLUDED.updated_at",
            params,
        )
        cur.execute("DROP TABLE care_churn_scores")
