"""The churn-risk score on the database: read the features set-based (one statement for every family), train the
model with a time-split backtest, and score every active customer in bulk (`churnmodel.py` defines label, features
and model; docs/care.md, "Churn-risk score").

    churn_aggregates_read(cutoff=day)                 # -> (customer ids, store ids, aggregates as of the day)
    churn_model_train(actor=None, today=day)          # -> ChurnModel row with its backtest
    churn_scores_write(today=day)                     # -> number of customers scored
"""

from __future__ import annotations

import datetime as dt
import json
import time

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, F, FloatField, Func, IntegerField, Max, Min, Q, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from aftercare.complaints.choices import FeedbackKind
from aftercare.complaints.models import Feedback
from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.models import Customer, Ownership, RepairOrder
from aftercare.followups.models import AnswerSheet
from aftercare.org.calendar import business_date, business_day_start, month_add

from .. import churnmodel as cm
from ..models import CareProfile, ChurnModel, ChurnScore
from ..visits import counted, counted_q

DAY = 86400.0
HORIZON = dt.timedelta(days=183)  # "6 months" of the label, in days
COMPLAINT_KINDS = (FeedbackKind.COMPLAINT, FeedbackKind.GRIEVANCE)


def _epoch(expression):
    """The instant `expression` (a field name or an aggregate of instants) as epoch seconds in double precision,
    computed by the database; convert aggregates rather than rows (one conversion per customer)."""
    expression = F(expression) if isinstance(expression, str) else expression
    if connection.vendor == "postgresql":
        return Func(expression, template="CAST(EXTRACT(EPOCH FROM %(expressions)s) AS double precision)",
                    output_field=FloatField())
    return Func(expression, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
                output_field=FloatField())


def _epoch_date(field: str):
    """The date in `field` as days since 1970-01-01 (an integer), computed by the database."""
    if connection.vendor == "postgresql":
        return Func(F(field), template="(%(expressions)s - DATE '1970-01-01')", output_field=IntegerField())
    return Func(F(field), template="CAST(julianday(%(expressions)s) - 2440587.5 AS integer)",
                output_field=IntegerField())


def _date_day(day: dt.date | None) -> float:
    return business_day_start(day).timestamp() / DAY if day is not None else np.nan


def cutoff_day(cutoff: dt.date) -> float:
    """The day number of 00:00 Asia/Shanghai of `cutoff` (days since the epoch): the "as of" of the features."""
    return business_day_start(cutoff).timestamp() / DAY


def _date_days(days: np.ndarray) -> np.ndarray:
    """Day numbers of 00:00 Asia/Shanghai of dates given as days since 1970-01-01 (nan stays nan); the
    few distinct dates go through `business_day_start`."""
    out = np.full(len(days), np.nan)
    known = ~np.isnan(days)
    if known.any():
        uniq, inv = np.unique(days[known].astype(np.int64), return_inverse=True)
        epoch = dt.date(1970, 1, 1)
        out[known] = np.array([_date_day(epoch + dt.timedelta(days=int(d))) for d in uniq])[inv]
    return out


# the columns of the features statement after customer and store, in order: (name, SQL expression)
_COLUMNS = (
    ("last", "o.vlast"), ("first", "o.vfirst"), ("n", "o.n"), ("v6", "o.v6"), ("v12", "o.v12"), ("v24", "o.v24"),
    ("s12", "o.s12"), ("s24", "o.s24"), ("kmin", "o.kmin"), ("kmax", "o.kmax"), ("dmin", "o.dmin"),
    ("dmax", "o.dmax"), ("n24", "o.n24"), ("booked", "o.booked"), ("delivery", "w.delivery"),
    ("warranty", "w.warranty"), ("complaints", "c.n"), ("survey", "s.score"), ("distance", "p.distance"),
    ("marked", "CASE WHEN p.books THEN 1 ELSE 0 END"),
)


def _features_sql(*, cutoff: dt.date, active_only: bool) -> tuple[str, list]:
    """One statement giving, for every customer with a counted visit before `cutoff` (with `active_only`: in the 6
    months before it), customer id, store id and the `_COLUMNS`: the repair orders are read in one grouped pass,
    the other families are grouped subqueries joined to it. Each part is a queryset, so tables, columns and
    parameters are the ORM's."""
    end = business_day_start(cutoff)
    since = {k: end - dt.timedelta(days=d) for k, d in (("6m", 183), ("12m", 365), ("24m", 730))}
    visit = counted_q()
    within = {k: Q(settled_at__gte=v) for k, v in since.items()}
    orders = (
        RepairOrder.objects.filter(settled_at__lt=end).values("customer_id").order_by().annotate(
            # counted visits and spend
            store=Max("store_id", filter=visit), last=_epoch(Max("settled_at", filter=visit)),
            first=_epoch(Min("settled_at", filter=visit)), n=Count("id", filter=visit),
            v6=Count("id", filter=visit & within["6m"]), v12=Count("id", filter=visit & within["12m"]),
            v24=Count("id", filter=visit & within["24m"]),
            s12=Sum("amount", filter=visit & within["12m"]), s24=Sum("amount", filter=visit & within["24m"]),
            # mileage readings and appointments, from every repair order (counted or not)
            kmin=Min("mileage"), kmax=Max("mileage"),
            dmin=_epoch(Min("settled_at", filter=Q(mileage__isnull=False))),
            dmax=_epoch(Max("settled_at", filter=Q(mileage__isnull=False))),
            n24=Count("id", filter=within["24m"]), booked=Count("id", filter=within["24m"] & Q(booked=True)),
        ).filter(n__gt=0)
    )
    if active_only:
        orders = orders.filter(v6__gt=0)
    orders = orders.values_list("customer_id", "store", "last", "first", "n", "v6", "v12", "v24", "s12", "s24",
                                "kmin", "kmax", "dmin", "dmax", "n24", "booked")
    # the vehicles owned at the cutoff (the newest delivery)
    owned = (
        Ownership.objects.filter(valid_from__lt=cutoff).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=cutoff))
        .values("customer_id").order_by()
        .annotate(delivery=Max(_epoch_date("vehicle__delivery_date")),
                  warranty=Max(_epoch_date("vehicle__warranty_end")))
        .values_list("customer_id", "delivery", "warranty")
    )
    # complaints filed in the last 6 months
    complaints = (
        Feedback.objects.filter(kind__in=COMPLAINT_KINDS, created_at__gte=since["6m"], created_at__lt=end)
        .values("customer_id").order_by().annotate(n=Count("id")).values_list("customer_id", "n")
    )
    # the last survey score (1000 points) before the cutoff
    surveys = (
        AnswerSheet.objects.filter(answered_at__lt=end, score_total__isnull=False)
        .annotate(rank=Window(RowNumber(), partition_by=F("task__customer_id"),
                              order_by=[F("answered_at").desc(), F("id").desc()]))
        .filter(rank=1).order_by().values_list("task__customer_id", "score_total")
    )
    # the customer's attributes on the care profile
    profiles = CareProfile.objects.order_by().values_list("customer_id", "distance_km", "books_appointments")
    parts, params = [], []
    for name, cols, qs in (
        ("o", "customer_id, store, vlast, vfirst, n, v6, v12, v24, s12, s24, kmin, kmax, dmin, dmax, n24, booked",
         orders),
        ("w", "customer_id, delivery, warranty", owned), ("c", "customer_id, n", complaints),
        ("s", "customer_id, score", surveys), ("p", "customer_id, distance, books", profiles),
    ):
        sql, p = qs.query.sql_with_params()
        parts.append(f"{name} ({cols}) AS ({sql})")
        params.extend(p)
    if connection.vendor == "postgresql":  # fixed-width rows for the binary COPY: no NULL, every value 8 bytes
        values = ", ".join(f"COALESCE(CAST({expr} AS double precision), 'NaN')" for _n, expr in _COLUMNS)
    else:
        values = ", ".join(f"CAST({expr} AS REAL)" for _n, expr in _COLUMNS)
    sql = (
        f"WITH {', '.join(parts)} "
        f"SELECT o.customer_id, o.store, {values} FROM o "
        "LEFT JOIN w ON w.customer_id = o.customer_id LEFT JOIN c ON c.customer_id = o.customer_id "
        "LEFT JOIN s ON s.customer_id = o.customer_id LEFT JOIN p ON p.customer_id = o.customer_id"
    )
    return sql, params


def _rows_read(sql: str, params: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the features statement: (customer ids, store ids, the `_COLUMNS` as a float matrix, nan for NULL)."""
    k = len(_COLUMNS)
    if connection.vendor == "postgresql":
        return _copy_binary_read(sql, params, k)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, k))
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    stores = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    return ids, stores, np.array([r[2:] for r in rows], dtype=float).reshape(len(rows), k)


_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00"


def _copy_binary_read(sql: str, params: list, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PostgreSQL: `COPY (sql) TO STDOUT (FORMAT binary)` of rows of two bigints and `k` doubles, none NULL, so
    every row has the same width and numpy reads the stream as it comes (no Python object per value)."""
    row = np.dtype([("fields", ">i2"), ("lid", ">i4"), ("id", ">i8"), ("lstore", ">i4"), ("store", ">i8")]
                   + [(f"{p}{i}", t) for i in range(k) for p, t in (("l", ">i4"), ("v", ">f8"))])
    blocks: list[np.ndarray] = []
    buf = bytearray()
    header = len(_PGCOPY_HEADER) + 8  # signature, flags, header extension length (0)
    import psycopg

    connection.ensure_connection()
    bound = psycopg.ClientCursor(connection.connection).mogrify(sql, params)  # COPY takes no parameters
    with connection.cursor() as cur, cur.copy(f"COPY ({bound}) TO STDOUT (FORMAT binary)") as copy:
        for data in copy:
            buf += data
            if header:
                if len(buf) < header:
                    continue
                if bytes(buf[:len(_PGCOPY_HEADER)]) != _PGCOPY_HEADER or buf[header - 4:header] != b"\0\0\0\0":
                    raise ValueError("unexpected COPY header")
                del buf[:header]
                header = 0
            whole = len(buf) // row.itemsize * row.itemsize
            if whole >= 1 << 22 or whole == len(buf) - 2:  # big enough, or all but the trailer
                blocks.append(np.frombuffer(bytes(buf[:whole]), dtype=row))
                del buf[:whole]
    if bytes(buf) != b"\xff\xff" or header:
        raise ValueError("unexpected end of the COPY stream")
    rows = np.concatenate(blocks) if blocks else np.zeros(0, dtype=row)
    lengths = [rows["lid"], rows["lstore"]] + [rows[f"l{i}"] for i in range(k)]
    if (rows["fields"] != k + 2).any() or any((n != 8).any() for n in lengths):
        raise ValueError("unexpected COPY row")
    values = np.column_stack([rows[f"v{i}"].astype(float) for i in range(k)]) if len(rows) else np.zeros((0, k))
    return rows["id"].astype(np.int64), rows["store"].astype(np.int64), values


def churn_aggregates_read(*, cutoff: dt.date, active_only: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    """The aggregates of `churnmodel.AGGREGATES` of every customer with a counted visit before `cutoff` (00:00
    Asia/Shanghai; with `active_only`, in the 6 months before it), reading only data before it, in one statement:
    customer ids (sorted), their store ids, the aggregates."""
    ids, stores, values = _rows_read(*_features_sql(cutoff=cutoff, active_only=active_only))
    order = np.argsort(ids, kind="stable")
    ids, stores, values = ids[order], stores[order], values[order]
    agg = cm.empty_aggregates(len(ids))
    if not len(ids):
        return ids, stores, agg
    col = {name: values[:, i] for i, (name, _expr) in enumerate(_COLUMNS)}
    agg["last_visit"] = col["last"] / DAY
    agg["first_visit"] = col["first"] / DAY
    for k, name in (("n_visits", "n"), ("visits_6m", "v6"), ("visits_12m", "v12"), ("visits_24m", "v24"),
                    ("spend_12m", "s12"), ("spend_24m", "s24"), ("complaints_6m", "complaints")):
        agg[k] = np.nan_to_num(col[name])
    agg["mileage_min"], agg["mileage_max"] = col["kmin"], col["kmax"]
    agg["mileage_day_min"], agg["mileage_day_max"] = col["dmin"] / DAY, col["dmax"] / DAY
    agg["delivery"], agg["warranty_end"] = _date_days(col["delivery"]), _date_days(col["warranty"])
    agg["survey_score"] = col["survey"]
    agg["distance_km"] = col["distance"]
    # books appointments: at least half of the orders of the last 24 months came by appointment (every repair
    # order, counted or not), or the profile says so
    n24, booked = col["n24"], col["booked"]
    agg["books_appointments"] = np.maximum(((n24 > 0) & (booked * 2 >= n24)).astype(float),
                                           np.nan_to_num(col["marked"]))
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
    """Score every customer active today with the newest model and replace the `ChurnScore` table with the
    scores: risk, reasons (codes of `churnmodel.reason_label`), model and `scored_on`, for each customer's own
    store. The old scores are dropped and the new ones written in one transaction (a reader waits for it and then
    sees the new table whole; killed midway, the old table stays), so a customer no longer active loses its row.
    Idempotent: a rerun the same day writes the same rows. `timings` (a dict) gets the seconds of each phase: read,
    score, write."""
    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    today = today or business_date()
    current = churn_model_current()
    if current is None:
        return 0
    row, model = current
    cutoff = today + dt.timedelta(days=1)
    ids, _stores, agg = churn_aggregates_read(cutoff=cutoff, active_only=True)
    act = cm.active_mask(agg)
    X = cm.features_assemble(agg, cutoff_day(cutoff))[act]
    ids = ids[act]
    t1 = time.perf_counter()
    timings["read"] = t1 - t0
    risk = np.round(model.predict(X), 4) if len(ids) else np.zeros(0)
    why = model.reason_index(X) if len(ids) else np.zeros((0, 3), dtype=int)
    t2 = time.perf_counter()
    timings["score"] = t2 - t1
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _scores_copy(ids, risk, why, model.reason_codes(), row.pk, today)
        else:
            _scores_insert(ids, risk, why, model.reason_codes(), row.pk, today)
    timings["write"] = time.perf_counter() - t2
    return len(ids)


BATCH_SIZE = 5000  # scores a bulk insert writes at once (SQLite)


def _scores_insert(ids, risk, why, codes: list[str], model_id: int, today: dt.date) -> None:
    """Elsewhere (SQLite): the scores into a temporary table in batches, then the same statements as PostgreSQL:
    empty `ChurnScore`, insert from the temporary table with each customer's store."""
    codes = [""] + codes
    with connection.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE care_churn_scores (customer_id bigint, risk double precision, "
                    "reasons text)")
        try:
            rows = [(c, r, json.dumps([codes[i] for i in w if i]))
                    for c, r, w in zip(ids.tolist(), risk.tolist(), why.tolist(), strict=True)]
            for i in range(0, len(rows), BATCH_SIZE):
                cur.executemany("INSERT INTO care_churn_scores VALUES (%s, %s, %s)", rows[i:i + BATCH_SIZE])
            _scores_replace(cur, "s.reasons", {"model": model_id, "today": today})
        finally:
            cur.execute("DROP TABLE care_churn_scores")


def _scores_replace(cur, reasons: str, params: dict) -> None:
    """Replace the rows of `ChurnScore` with the scores of the temporary table `care_churn_scores` (inside the
    caller's transaction): the store is the customer's own (the composite key of the table checks it).

    PostgreSQL: the table is emptied by `TRUNCATE`, which holds its lock to the commit (readers wait, then see the
    new rows whole), and reloaded as a bulk load: its keys and indexes dropped, one `INSERT … SELECT`, then the
    primary key and indexes rebuilt by sorting and the store key validated in one join, each from its own
    definition in the catalogue (the names stay Django's). That is about 3x faster than maintaining them row by
    row (the deferred store key alone is a trigger call and a row lock of the customer per row)."""
    qn = connection.ops.quote_name
    table, customers = qn(ChurnScore._meta.db_table), qn(Customer._meta.db_table)
    insert = (f"INSERT INTO {table} (customer_id, store_id, risk, reasons, model_id, scored_on) "
              f"SELECT s.customer_id, c.store_id, s.risk, {reasons}, %(model)s, %(today)s "
              f"FROM care_churn_scores s JOIN {customers} c ON c.id = s.customer_id")
    if connection.vendor != "postgresql":
        cur.execute(f"DELETE FROM {table}")
        cur.execute(insert, params)
        return
    # checks queued earlier in the caller's transaction run now: TRUNCATE and the key's rebuild refuse tables with
    # checks pending; back to deferred after (as Django's `check_constraints` does)
    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cur.execute("SET CONSTRAINTS ALL DEFERRED")
    cur.execute(f"TRUNCATE {table}")
    cur.execute(
        "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'f') ORDER BY contype DESC", [table])
    keys = cur.fetchall()  # the primary key first, then the foreign keys
    cur.execute(
        "SELECT indexdef FROM pg_indexes i WHERE schemaname = current_schema() AND tablename = %s AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = (quote_ident(i.schemaname) || '.' || "
        "quote_ident(i.indexname))::regclass)", [ChurnScore._meta.db_table])
    indexes = [r[0] for r in cur.fetchall()]
    for name, _definition, _kind in reversed(keys):
        cur.execute(f"ALTER TABLE {table} DROP CONSTRAINT {qn(name)}")
    cur.execute(
        "SELECT string_agg(format('DROP INDEX %%I.%%I', schemaname, indexname), '; ') FROM pg_indexes "
        "WHERE schemaname = current_schema() AND tablename = %s", [ChurnScore._meta.db_table])
    (drops,) = cur.fetchone()
    if drops:
        cur.execute(drops)
    cur.execute(insert, params)
    for name, definition, kind in keys:
        if kind == "p":
            cur.execute(f"ALTER TABLE {table} ADD CONSTRAINT {qn(name)} {definition}")
    for definition in indexes:
        cur.execute(definition)
    for name, definition, kind in keys:
        if kind == "f":
            cur.execute(f"ALTER TABLE {table} ADD CONSTRAINT {qn(name)} {definition}")


COPY_ROWS = 100_000  # rows a binary COPY block carries


def _scores_copy(ids, risk, why, codes: list[str], model_id: int, today: dt.date) -> None:
    """PostgreSQL: binary COPY of the scores (customer, risk, the three reason positions) into a temporary table,
    straight from numpy, before the lock; then `TRUNCATE` and one `INSERT … SELECT` into `ChurnScore` (no wide
    row rewritten). The reasons become the JSON list of their codes in the server."""
    params: dict = {"today": today, "model": model_id, "codes": codes}
    reasons = "to_jsonb(array_remove(ARRAY[(%(codes)s::text[])[s.r1], (%(codes)s::text[])[s.r2], " \
              "(%(codes)s::text[])[s.r3]], NULL))"
    row = np.dtype([("fields", ">i2"), ("l1", ">i4"), ("customer", ">i8"), ("l3", ">i4"), ("risk", ">f8"),
                    ("l4", ">i4"), ("r1", ">i2"), ("l5", ">i4"), ("r2", ">i2"), ("l6", ">i4"), ("r3", ">i2")])
    data = np.zeros(len(ids), dtype=row)
    data["fields"] = 5
    for length, names in ((8, ("l1", "l3")), (2, ("l4", "l5", "l6"))):
        for name in names:
            data[name] = length
    data["customer"], data["risk"] = ids, risk
    for k in range(3):
        data[f"r{k + 1}"] = why[:, k] if why.shape[1] > k else 0
    with connection.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE care_churn_scores (customer_id bigint, risk double precision, "
                    "r1 smallint, r2 smallint, r3 smallint) ON COMMIT DROP")
        with cur.copy("COPY care_churn_scores FROM STDIN (FORMAT binary)") as copy:
            copy.write(_PGCOPY_HEADER + bytes(8))
            for i in range(0, len(data), COPY_ROWS):
                copy.write(data[i:i + COPY_ROWS].tobytes())
            copy.write(b"\xff\xff")
        cur.execute("ANALYZE care_churn_scores")
        _scores_replace(cur, reasons, params)
        cur.execute("DROP TABLE care_churn_scores")
