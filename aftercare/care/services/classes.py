"""The daily classification of customers into new / loyal / regular / lost (seed 000 p20; docs/care.md, "Classes
and churn"), the class settings and the churn reasons.

`customers_classify(today=…)` works per store in one transaction, set-based whatever the number of customers (no
per-customer Python):

1. every active customer of the store with the figures as of the start of `today` (Asia/Shanghai; only repair
   orders, deliveries and care tasks before that instant count), the class, and its profile as it stands;
2. from those rows, `INSERT … SELECT` of a `ClassChange` for each customer whose class differs from its profile's;
3. `UPDATE … FROM` of the existing profiles whose class fields differ (`IS DISTINCT FROM`), then `INSERT … SELECT`
   of the missing ones.

4. the store's month summary of the class flows (`ClassFlowMonth`): the run's month rewritten from the month before
   and the customers changed in it (`_flow_months_refresh`; the first run of a store backfills it from the history).

On PostgreSQL steps 1–3 are one statement (the rows a CTE, the writes data-modifying CTEs of it); elsewhere (SQLite) the
rows go to a temporary table and the three writes follow from it, the same SQL.

Rerunning the same day finds every profile already in its class: no new change, no profile rewritten. A run killed
midway rolled its store back; the rerun does it whole. Profiles classified after `today` (a historical run after a
later one) are left alone, so history runs forward: the demo classifies each month-end in order.
"""

import datetime as dt
import re

from django.db import connection, transaction
from django.utils import timezone

from aftercare.core.services import audit_event_record
from aftercare.customers.models import Customer, RepairOrder, SalesDelivery
from aftercare.followups.choices import FollowupKind
from aftercare.followups.models import FollowupTask
from aftercare.org.calendar import add_months, business_date, business_day_start, month_add
from aftercare.org.models import Store

from ..choices import CustomerClass, LostRule
from ..models import CareProfile, ChurnReason, ClassChange, ClassFlowMonth, ClassSettings
from ..visits import COUNTED_KINDS

TMP = "care_classify_tmp"


def class_settings_map(store_ids) -> dict[int, ClassSettings]:
    """Each store's class settings in one query (unsaved defaults where a store has no row)."""
    found = {s.store_id: s for s in ClassSettings.objects.filter(store_id__in=list(store_ids))}
    return {sid: found.get(sid) or ClassSettings(store_id=sid) for sid in store_ids}


def bounds(today: dt.date, settings: ClassSettings) -> dict:
    """The instants of the rules, as of 00:00 Asia/Shanghai of `today` (all half-open).

    - `end`: only what happened before it counts;
    - `lost_cut`: the last counted visit (or, without one, the day the customer became known) before it → lost
      (the Shanghai day of the visit is `lost_after_months` or more before `today`: 15 Jan → lost on 15 Jul);
    - `year`: the 12 months window `[year, end)`; `half`: its second half starts here;
    - `known_year`: known before it → known for 12 months or more.
    """
    year_day = add_months(today, -12)
    return {
        "end": business_day_start(today),
        "lost_cut": business_day_start(add_months(today, -settings.lost_after_months) + dt.timedelta(days=1)),
        "year": business_day_start(year_day),
        "half": business_day_start(add_months(today, -6)),
        "known_year": business_day_start(year_day + dt.timedelta(days=1)),
    }


def _kinds_sql() -> str:
    for kind in COUNTED_KINDS:
        assert re.fullmatch(r"[a-z_]+", kind), kind
    return ", ".join(f"'{k}'" for k in COUNTED_KINDS)


def classification_select_sql() -> str:
    """One SELECT: per active customer of `%(store)s`: customer_id, store_id, cls, rule, last_visit, v12,
    spend12, and its profile as it stands (profile_id, old_class, old_on: None without one) — so that the writes
    that follow never read the profile table they write (PostgreSQL and SQLite alike; parameters named, instants
    adapted by the connection)."""
    kinds = _kinds_sql()
    ro, cu = RepairOrder._meta.db_table, Customer._meta.db_table
    dl, tk, cp = SalesDelivery._meta.db_table, FollowupTask._meta.db_table, CareProfile._meta.db_table
    counted = f"o.kind IN ({kinds})"
    return f"""
WITH ro AS (
    SELECT o.customer_id,
        MAX(CASE WHEN {counted} THEN o.settled_at END) AS last_visit,
        SUM(CASE WHEN {counted} AND o.settled_at >= %(year)s THEN 1 ELSE 0 END) AS v12,
        SUM(CASE WHEN {counted} AND o.settled_at >= %(year)s AND o.amount > 0 THEN 1 ELSE 0 END) AS paid12,
        SUM(CASE WHEN {counted} AND o.settled_at >= %(year)s THEN o.amount ELSE 0 END) AS spend12,
        SUM(CASE WHEN {counted} AND o.settled_at >= %(year)s AND o.settled_at < %(half)s THEN 1 ELSE 0 END) AS h1,
        SUM(CASE WHEN {counted} AND o.settled_at >= %(half)s THEN 1 ELSE 0 END) AS h2,
        MIN(o.settled_at) AS first_ro
    FROM {ro} o WHERE o.store_id = %(store)s AND o.settled_at < %(end)s
    GROUP BY o.customer_id
), dl AS (
    SELECT d.customer_id, MIN(d.delivered_at) AS first_dl
    FROM {dl} d WHERE d.store_id = %(store)s AND d.delivered_at < %(end)s
    GROUP BY d.customer_id
), tk AS (
    SELECT t.customer_id, COUNT(*) AS reminders
    FROM {tk} t LEFT JOIN ro ON ro.customer_id = t.customer_id
    WHERE t.store_id = %(store)s AND t.kind = %(care_kind)s AND t.event_at >= %(year)s AND t.event_at < %(end)s
        AND (ro.last_visit IS NULL OR t.event_at > ro.last_visit)
    GROUP BY t.customer_id
), base AS (
    SELECT c.id AS customer_id, c.store_id, ro.last_visit,
        p.id AS profile_id, p.customer_class AS old_class, p.classified_on AS old_on,
        COALESCE(ro.v12, 0) AS v12, COALESCE(ro.paid12, 0) AS paid12, COALESCE(ro.spend12, 0) AS spend12,
        COALESCE(ro.h1, 0) AS h1, COALESCE(ro.h2, 0) AS h2, COALESCE(tk.reminders, 0) AS reminders,
        CASE WHEN dl.first_dl IS NOT NULL AND (ro.first_ro IS NULL OR dl.first_dl < ro.first_ro) THEN dl.first_dl
             ELSE COALESCE(ro.first_ro, c.created_at) END AS known
    FROM {cu} c
    LEFT JOIN ro ON ro.customer_id = c.id
    LEFT JOIN dl ON dl.customer_id = c.id
    LEFT JOIN tk ON tk.customer_id = c.id
    LEFT JOIN {cp} p ON p.customer_id = c.id
    WHERE c.store_id = %(store)s AND c.is_active AND c.merged_into_id IS NULL
        AND (ro.customer_id IS NOT NULL OR dl.customer_id IS NOT NULL OR c.created_at < %(end)s)
        AND (p.classified_on IS NULL OR p.classified_on <= %(today)s)
), rules AS (
    SELECT b.*,
        CASE
            WHEN COALESCE(b.last_visit, b.known) < %(lost_cut)s THEN '{LostRule.NO_VISIT}'
            WHEN b.last_visit IS NULL THEN ''
            WHEN b.known < %(known_year)s AND b.v12 <= %(once_max)s THEN '{LostRule.ONCE_A_YEAR}'
            WHEN %(inspections)s = 1 AND b.known < %(known_year)s AND b.v12 >= 1 AND b.paid12 = 0
                THEN '{LostRule.ONLY_INSPECTIONS}'
            WHEN %(reminded_min)s > 0 AND b.reminders >= %(reminded_min)s THEN '{LostRule.REMINDED_NEVER_CAME}'
            ELSE ''
        END AS rule
    FROM base b
)
SELECT r.customer_id, r.store_id,
    CASE
        WHEN r.rule <> '' THEN '{CustomerClass.LOST}'
        WHEN r.last_visit IS NULL THEN '{CustomerClass.NEW}'
        WHEN r.v12 >= %(loyal_min)s AND r.h1 > 0 AND r.h2 > 0 THEN '{CustomerClass.LOYAL}'
        ELSE '{CustomerClass.REGULAR}'
    END AS cls,
    r.rule, r.last_visit, r.v12, r.spend12, r.profile_id, r.old_class, r.old_on
FROM rules r
"""


def classification_params(*, store_id: int, today: dt.date, settings: ClassSettings) -> dict:
    ops = connection.ops
    params = {k: ops.adapt_datetimefield_value(v) for k, v in bounds(today, settings).items()}
    params.update(
        store=store_id,
        today=ops.adapt_datefield_value(today),
        care_kind=FollowupKind.CARE,
        once_max=settings.once_a_year_max_visits if settings.once_a_year_max_visits else -1,
        inspections=1 if settings.lost_when_only_inspections else 0,
        reminded_min=settings.reminded_min,
        loyal_min=settings.loyal_min_visits,
    )
    return params


# The profile's class fields the classification writes, with the temporary table's (or CTE's) column of each: a
# profile is rewritten only when one of them differs (a same-day rerun rewrites none).
_WRITTEN = (("customer_class", "t.cls"), ("lost_rule", "t.rule"), ("classified_on", "%(day)s"),
            ("last_visit_at", "t.last_visit"), ("visits_12m", "t.v12"), ("spend_12m", "t.spend12"))


def _write_sql(cp: str, cc: str, source: str) -> tuple[str, str, str]:
    """The three writes from `source` (the classification's rows, alias `t`): the class changes, the update of the
    existing profiles whose fields differ, the insert of the missing ones. Parameters: `day`, `now`."""
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    differs = " OR ".join(f"{cp}.{col} {distinct} {val}" for col, val in _WRITTEN)
    changes = f"""INSERT INTO {cc} (store_id, customer_id, from_class, to_class, rule, on_date, created_at, updated_at)
        SELECT t.store_id, t.customer_id,
            CASE WHEN t.profile_id IS NULL OR t.old_on IS NULL THEN '' ELSE t.old_class END,
            t.cls, t.rule, %(day)s, %(now)s, %(now)s
        FROM {source} t
        WHERE t.profile_id IS NULL OR t.old_on IS NULL OR t.old_class <> t.cls"""
    update = f"""UPDATE {cp} SET
            class_since = CASE WHEN {cp}.classified_on IS NULL OR {cp}.customer_class <> t.cls THEN %(day)s
                               ELSE {cp}.class_since END,
            customer_class = t.cls, lost_rule = t.rule, classified_on = %(day)s, last_visit_at = t.last_visit,
            visits_12m = t.v12, spend_12m = t.spend12, updated_at = %(now)s
        FROM {source} t WHERE {cp}.id = t.profile_id AND ({differs})"""
    insert = f"""INSERT INTO {cp} (store_id, customer_id, customer_class, lost_rule, class_since, classified_on,
            last_visit_at, visits_12m, spend_12m, created_at, updated_at)
        SELECT t.store_id, t.customer_id, t.cls, t.rule, %(day)s, %(day)s, t.last_visit, t.v12, t.spend12,
            %(now)s, %(now)s
        FROM {source} t WHERE t.profile_id IS NULL"""
    return changes, update, insert


def _store_classify(cursor, *, store_id: int, today: dt.date, settings: ClassSettings) -> int:
    """Classify one store (inside the caller's transaction); the number of class changes written.

    PostgreSQL: one statement (the classification a CTE, the three writes data-modifying CTEs of it: no temporary
    table, no round trip per step). Elsewhere (SQLite): the classification into a temporary table, then the three
    writes from it — the same SQL."""
    ops = connection.ops
    params = classification_params(store_id=store_id, today=today, settings=settings)
    params.update(now=ops.adapt_datetimefield_value(timezone.now()), day=ops.adapt_datefield_value(today))
    cp, cc = CareProfile._meta.db_table, ClassChange._meta.db_table
    if connection.vendor == "postgresql":
        changes, update, insert = _write_sql(cp, cc, "t_rows")
        cursor.execute(
            f"""WITH t_rows AS MATERIALIZED ({classification_select_sql()}),
            changes AS ({changes} RETURNING 1), updated AS ({update} RETURNING 1), inserted AS ({insert} RETURNING 1)
            SELECT (SELECT COUNT(*) FROM changes), (SELECT COUNT(*) FROM updated), (SELECT COUNT(*) FROM inserted)""",
            params,
        )
        return cursor.fetchone()[0]
    changes, update, insert = _write_sql(cp, cc, TMP)
    cursor.execute(f"DROP TABLE IF EXISTS {TMP}")
    cursor.execute(f"CREATE TEMPORARY TABLE {TMP} AS {classification_select_sql()}", params)
    cursor.execute(changes, params)
    n = cursor.rowcount
    cursor.execute(update, params)
    cursor.execute(insert, params)
    cursor.execute(f"DROP TABLE {TMP}")
    return n


# ---- the month summary of the flows (`ClassFlowMonth`) ----------------------------------------------------------

# One month of one store from the month before and the class history of the customers who changed during the month
# (set-based; no scan of the rest of the history): the customers unchanged keep their class of the month's start,
# which is the class at the end of the month before (its rows' `to_class`, a diagonal); each customer with a change
# dated in the month leaves that diagonal (when classified at the start) and counts in (class at the start or '',
# class at the end) — both read by the index (customer, on_date) as the latest change before each boundary (`+ 0`
# keeps the planners off the index (store, on_date), which a store's whole history before the month would match).
_FLOW_MONTH_SQL = """
WITH m AS (
    SELECT DISTINCT c.customer_id FROM {cc} c
    WHERE c.store_id = %(store)s AND c.on_date >= %(month)s AND c.on_date < %(next)s
), x AS (
    SELECT
        (SELECT b.to_class FROM {cc} b WHERE b.customer_id = m.customer_id AND b.store_id + 0 = %(store)s
            AND b.on_date < %(month)s ORDER BY b.on_date DESC, b.id DESC LIMIT 1) AS c0,
        (SELECT e.to_class FROM {cc} e WHERE e.customer_id = m.customer_id AND e.store_id + 0 = %(store)s
            AND e.on_date < %(next)s ORDER BY e.on_date DESC, e.id DESC LIMIT 1) AS c1
    FROM m
)
INSERT INTO {fm} (store_id, month, from_class, to_class, customers, created_at, updated_at)
SELECT %(store)s, %(month)s, d.f, d.t, SUM(d.n), %(now)s, %(now)s FROM (
    SELECT p.to_class AS f, p.to_class AS t, p.customers AS n FROM {fm} p
    WHERE p.store_id = %(store)s AND p.month = %(prev)s
    UNION ALL
    SELECT x.c0, x.c0, -1 FROM x WHERE x.c0 IS NOT NULL
    UNION ALL
    SELECT COALESCE(x.c0, ''), x.c1, 1 FROM x
) d
GROUP BY d.f, d.t HAVING SUM(d.n) <> 0
"""


def _as_date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _flow_months_refresh(cursor, *, store_id: int, through: dt.date | None = None, changed: bool = True) -> int:
    """Bring the store's `ClassFlowMonth` rows up to date with its class history (inside the caller's transaction);
    the number of months (re)written.

    `through`: the month of a classification run (its changes are dated in it). The months rewritten, oldest first,
    each from the one before: none written yet → from the month of the store's first change (the backfill); else
    from the earlier of `through` and the month after the last written one, to the later of both (a month without a
    run is its month before carried; the backfill goes to the month of the store's latest run, as the runs would
    have). `changed=False` (the run wrote no change) with `through` already written:
    nothing to do, so a same-day rerun leaves the rows untouched."""
    fm, cc = ClassFlowMonth._meta.db_table, ClassChange._meta.db_table
    cursor.execute(f"SELECT MAX(month) FROM {fm} WHERE store_id = %s", [store_id])
    last = _as_date(cursor.fetchone()[0])
    through = through.replace(day=1) if through else None
    if last is None:
        cp = CareProfile._meta.db_table
        cursor.execute(f"""SELECT MIN(on_date), MAX(on_date),
            (SELECT MAX(classified_on) FROM {cp} WHERE store_id = %s) FROM {cc} WHERE store_id = %s""",
                       [store_id, store_id])
        lo, hi, ran = (_as_date(v) for v in cursor.fetchone())
        if lo is None:
            return 0
        # to the month of the latest run (as the runs write it), or of the latest change if later
        start, end = lo.replace(day=1), max(d.replace(day=1) for d in (hi, through, ran) if d)
    elif through is None:
        return 0
    else:
        if not changed and last >= through:
            return 0
        start, end = min(through, month_add(last, 1)), max(through, last)
    ops = connection.ops
    sql = _FLOW_MONTH_SQL.format(cc=cc, fm=fm)
    now = ops.adapt_datetimefield_value(timezone.now())
    written, month = 0, start
    while month <= end:
        cursor.execute(f"DELETE FROM {fm} WHERE store_id = %s AND month = %s",
                       [store_id, ops.adapt_datefield_value(month)])
        cursor.execute(sql, {"store": store_id, "now": now, "month": ops.adapt_datefield_value(month),
                             "prev": ops.adapt_datefield_value(month_add(month, -1)),
                             "next": ops.adapt_datefield_value(month_add(month, 1))})
        written += 1
        month = month_add(month, 1)
    return written


def class_flow_months_rebuild(*, store_ids=None) -> dict[int, int]:
    """Rewrite the stores' (default: all) `ClassFlowMonth` rows from their whole class history, each store in one
    transaction: the backfill of a database whose history predates the summary (the migration runs it) or was
    written by other means than the classification. Answers {store_id: months written}."""
    stores = Store.objects.all()
    if store_ids is not None:
        stores = stores.filter(pk__in=list(store_ids))
    out = {}
    for store_id in stores.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {ClassFlowMonth._meta.db_table} WHERE store_id = %s", [store_id])
            out[store_id] = _flow_months_refresh(cursor, store_id=store_id)
    return out


def customers_classify(*, today: dt.date | None = None, store_ids=None) -> dict[int, int]:
    """Classify every active customer of the stores (default: all active stores) as of `today` (default: today in
    Asia/Shanghai). Idempotent. Answers {store_id: class changes written}."""
    today = today or business_date()
    stores = Store.objects.all()
    if store_ids is not None:
        stores = stores.filter(pk__in=list(store_ids))
    ids = list(stores.order_by("pk").values_list("pk", flat=True))
    settings_of = class_settings_map(ids)
    out = {}
    for store_id in ids:
        with transaction.atomic(), connection.cursor() as cursor:
            out[store_id] = _store_classify(cursor, store_id=store_id, today=today, settings=settings_of[store_id])
            _flow_months_refresh(cursor, store_id=store_id, through=today, changed=out[store_id] > 0)
    return out


# ---- writes of users ----------------------------------------------------------------------------------------

SETTINGS_FIELDS = ("lost_after_months", "once_a_year_max_visits", "lost_when_only_inspections", "reminded_min",
                   "loyal_min_visits")


def class_settings_save(*, actor, store, data: dict) -> ClassSettings:
    """Create or change the store's class thresholds (validated; audited with the changed field names)."""
    with transaction.atomic():
        obj = ClassSettings.objects.select_for_update().filter(store=store).first() or ClassSettings(store=store)
        changed = [f for f in SETTINGS_FIELDS if f in data and getattr(obj, f) != data[f]]
        for f in SETTINGS_FIELDS:
            if f in data:
                setattr(obj, f, data[f])
        obj.full_clean()
        obj.save()
        audit_event_record(actor=actor, action="update", obj=obj, store_id=store.pk, changed_fields=changed)
    return obj


def churn_reason_record(*, actor, customer, reason: str, note: str = "", task=None) -> ChurnReason:
    """Record why a customer left (from a call when `task` is given, else from the customer's page)."""
    with transaction.atomic():
        row = ChurnReason(store_id=customer.store_id, customer=customer, reason=reason, note=note.strip(),
                          task=task, recorded_by=actor, recorded_on=business_date())
        row.full_clean()
        row.save()
        audit_event_record(actor=actor, action="create", obj=row, store_id=customer.store_id,
                           changed_fields=["reason", "note"] if row.note else ["reason"])
    return row
