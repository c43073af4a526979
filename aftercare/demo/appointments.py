"""Service appointments of the demo group (预约): capacity, 18 months of bookings, today's and the coming days'.

`demo_appointments_create` runs after the renewal history (`seed_demo`, not `--scale`):

1. each store's capacity — settings (30-minute slots, 20 % held back for walk-ins, 30 minutes' grace), bays (a
   dedicated appointment bay, general bays, an express bay), five service kinds with durations and the bay kinds
   that take them, opening hours 08:30–17:30 every day (statutory holidays closed by the availability code) —
   and its monthly appointment-rate targets (`org.KpiTarget` of `appointments.appointment_rate`);
2. the history, in bulk (ids reserved, one `executemany` per table: booking ~10,000 appointments one by one
   through `booking_create` with a moved clock would take minutes): every repair order the demo marked booked gets
   its appointment — arrived, matched to the order, on the order's day (a slot before it was settled), made 1–10
   days before —, plus no-shows (about 9 %) and cancellations (about 6 %) that brought no order; the bays' slots
   of the appointments that hold them (`BookingSlot`), and their history (`BookingEvent`);
3. **GZ01 reproduces the seed's appointment-rate months** (`SEED_RATES`: Jun 15 % … Dec 26 %) in the June–December
   of last year: the booked flag of its repair orders of those months is set on exactly round(rate × orders)
   orders (internal orders and washes left out, as the measure counts — docs/kpis.md);
4. today's and the coming days' appointments: today's earlier slots arrived (one still late), the later ones and
   the next `AHEAD_DAYS` days' booked through the real `booking_create` (caps, bays, walk-in share checked) by the
   store's service advisor `<prefix>_advisor`.

Deterministic for a seed and a day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from aftercare.appointments.choices import BayKind, BookingEventKind, BookingSource, BookingState, RescueOutcome
from aftercare.appointments.models import (
    AppointmentSettings,
    Bay,
    Booking,
    BookingEvent,
    BookingSlot,
    OpeningHours,
    RescueCall,
    ServiceKind,
)
from aftercare.appointments.services.booking import SlotTaken, booking_create
from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.choices import RepairKind
from aftercare.customers.models import Customer, Ownership, RepairOrder, Vehicle
from aftercare.org.calendar import business_date, month_add, statutory_holiday
from aftercare.org.choices import KpiPeriodKind
from aftercare.org.models import KpiTarget, Staff, Store

from .customers import TZ, WINDOW_MONTHS, FastRandom, _reserve_ids, months_before
from .org import STORES
from .renewals import _insert

APPOINTMENT_RATE_MEASURE = "appointments.appointment_rate"  # registered in the KPI catalogue by appointments
# seed 000 p16: the appointment rate by month of the seed's year; GZ01's last June–December reproduce it
SEED_RATES = {6: 15, 7: 20, 8: 22, 9: 24, 10: 18, 11: 20, 12: 26}
SEED_STORE = "GZ01"
EXCLUDED_KINDS = (RepairKind.INTERNAL, RepairKind.WASH)  # as the measure (appointments/measures.py)
# appointment-rate targets (%) of the quarters, set by month
QUARTER_TARGETS = (20, 22, 24, 26)
BAYS = {  # store → (appointment, general, express) bays
    "GZ01": (1, 4, 1), "FS01": (1, 3, 1), "HZ01": (1, 3, 1),
}
KINDS = (  # code, name, minutes, bay kinds
    ("first_maintenance", "首次保养", 60, [BayKind.APPOINTMENT, BayKind.GENERAL, BayKind.EXPRESS]),
    ("maintenance", "常规保养", 60, [BayKind.APPOINTMENT, BayKind.GENERAL, BayKind.EXPRESS]),
    ("mechanical", "机修", 120, [BayKind.APPOINTMENT, BayKind.GENERAL]),
    ("body_estimate", "钣喷估价", 30, [BayKind.GENERAL]),
    ("wash", "洗车", 30, [BayKind.EXPRESS, BayKind.GENERAL]),
)
KIND_OF_ORDER = {
    RepairKind.FIRST_FREE_MAINTENANCE: "first_maintenance", RepairKind.MAINTENANCE: "maintenance",
    RepairKind.MECHANICAL: "mechanical", RepairKind.WARRANTY_CLAIM: "mechanical", RepairKind.BODY: "body_estimate",
    RepairKind.PAINT: "body_estimate", RepairKind.INSURANCE_JOB: "body_estimate", RepairKind.WASH: "wash",
}
OPENS, CLOSES = dt.time(8, 30), dt.time(17, 30)
SLOT_MINUTES = 30
NO_SHOW_SHARE, CANCEL_SHARE = 0.09, 0.06  # of the appointments made
AHEAD_DAYS = 7  # the coming days with appointments
PER_DAY_AHEAD = {"GZ01": 12, "FS01": 8, "HZ01": 8}  # appointments a day ahead (fewer the further ahead)
_NOTES = ("客户要求上午完工", "顺便检查空调", "需要代步车", "客户自带机油", "")


def advisor_username(store_code: str) -> str:
    prefix = next(s.prefix for s in STORES if s.code == store_code)
    return f"{prefix}_advisor"


def demo_appointments_exist(stores: list[Store]) -> bool:
    return Bay.objects.filter(store__in=stores).exists()


def demo_appointments_create(*, stores: list[Store], seed: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Capacity, targets, history and the coming days' appointments of the demo `stores` (module docstring)."""
    now = now or timezone.now()
    today = business_date(now)
    start = months_before(today, WINDOW_MONTHS)
    counts: dict[str, int] = defaultdict(int)
    with transaction.atomic():
        _targets(stores, start, today)
        for store in stores:
            rng = FastRandom(f"{seed}:appointments:{store.code}")
            kinds, bays = _capacity(store)
            advisor = Staff.objects.filter(user__username=advisor_username(store.code)).select_related("user").first()
            if store.code == SEED_STORE:
                _seed_rates(store, rng, today)
            history = _History(store, rng, kinds, bays, advisor, now, today)
            history.run()
            history.write()
            ahead = _ahead(store, rng, kinds, advisor, now, today)
            rescues = _rescue_calls(store, rng, advisor, start, now)
            store_counts = {"appointments": len(history.bookings) + ahead, "appointments_ahead": ahead,
                            "rescue_calls": rescues}
            for key, value in store_counts.items():
                counts[key] += value
            audit_event_record(actor=None, action=AuditAction.IMPORT, object_type="org.demo_seed",
                               store_id=store.pk, detail={"appointments": store_counts})
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in (Booking, BookingSlot, BookingEvent, RepairOrder):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return dict(counts)


def _targets(stores: list[Store], start: dt.date, today: dt.date) -> None:
    rows = []
    month = start.replace(day=1)
    while month.year <= today.year:
        for store in stores:
            rows.append(KpiTarget(store=store, measure_code=APPOINTMENT_RATE_MEASURE, period_kind=KpiPeriodKind.MONTH,
                                  period_start=month, value=Decimal(QUARTER_TARGETS[(month.month - 1) // 3])))
        month = month_add(month, 1)
    KpiTarget.objects.bulk_create(rows, ignore_conflicts=True)


def _capacity(store: Store) -> tuple[dict[str, ServiceKind], list[Bay]]:
    AppointmentSettings.objects.get_or_create(store=store)
    n_app, n_gen, n_exp = BAYS.get(store.code, (1, 3, 1))
    bays = [Bay(store=store, name="预约专用工位", kind=BayKind.APPOINTMENT)] if n_app else []
    bays += [Bay(store=store, name=f"{i}号工位", kind=BayKind.GENERAL) for i in range(1, n_gen + 1)]
    bays += [Bay(store=store, name=f"快修工位{i}", kind=BayKind.EXPRESS) for i in range(1, n_exp + 1)]
    Bay.objects.bulk_create(bays)
    kinds = []
    for code, name, minutes, bay_kinds in KINDS:
        kind = ServiceKind(store=store, code=code, name=name, duration_minutes=minutes,
                           bay_kinds=[str(k) for k in bay_kinds])
        kind.full_clean(exclude=["store"])
        kinds.append(kind)
    ServiceKind.objects.bulk_create(kinds)
    OpeningHours.objects.bulk_create(
        OpeningHours(store=store, weekday=wd, opens_at=OPENS, closes_at=CLOSES) for wd in range(7)
    )
    return ({k.code: k for k in ServiceKind.objects.filter(store=store)},
            list(Bay.objects.filter(store=store).order_by("id")))


def seed_months(today: dt.date) -> dict[dt.date, int]:
    """{first of month: rate %} of the seed's months in the demo: June–December of last year."""
    return {dt.date(today.year - 1, m, 1): rate for m, rate in SEED_RATES.items()}


def _seed_rates(store: Store, rng: FastRandom, today: dt.date) -> None:
    """GZ01's booked flags of the seed months set to exactly round(rate × orders) (the measure's orders)."""
    for month, rate in seed_months(today).items():
        lo = dt.datetime.combine(month, dt.time(0), tzinfo=TZ)
        hi = dt.datetime.combine(month_add(month, 1), dt.time(0), tzinfo=TZ)
        orders = list(RepairOrder.objects.filter(store=store, settled_at__gte=lo, settled_at__lt=hi)
                      .exclude(kind__in=EXCLUDED_KINDS).order_by("id").values_list("id", "booked"))
        want = round(len(orders) * rate / 100)
        booked = [pk for pk, b in orders if b]
        unbooked = [pk for pk, b in orders if not b]
        rng.shuffle(booked)
        rng.shuffle(unbooked)
        if len(booked) > want:
            RepairOrder.objects.filter(pk__in=booked[want:]).update(booked=False)
        elif len(booked) < want:
            RepairOrder.objects.filter(pk__in=unbooked[: want - len(booked)]).update(booked=True)


def _json(value):
    """A JSON column's value as the database driver takes it."""
    return BookingEvent._meta.get_field("detail").get_db_prep_value(value, connection)


class _History:
    """The appointments behind the booked repair orders of the window, and the no-shows and cancellations."""

    def __init__(self, store, rng, kinds, bays, advisor, now, today):
        self.store, self.rng, self.kinds, self.bays, self.now, self.today = store, rng, kinds, bays, now, today
        self.advisor = advisor
        self.taken: set[tuple[int, dt.datetime]] = set()
        self.bookings: list[dict] = []  # with private keys: _kind, _events

    def _slots(self, day: dt.date) -> list[dt.datetime]:
        at = dt.datetime.combine(day, OPENS, tzinfo=TZ)
        end = dt.datetime.combine(day, CLOSES, tzinfo=TZ)
        out = []
        while at < end:
            out.append(at)
            at += dt.timedelta(minutes=SLOT_MINUTES)
        return out

    def _place(self, day: dt.date, kind: ServiceKind, latest: dt.datetime | None) -> tuple[dt.datetime, Bay] | None:
        """A start on `day` (before `latest`, mornings first) and a bay taking `kind` with all its slots free."""
        if statutory_holiday(day):
            return None
        length = max(1, -(-kind.duration_minutes // SLOT_MINUTES))
        starts = self._slots(day)[: len(self._slots(day)) - length + 1]
        if latest is not None:
            starts = [s for s in starts if s + dt.timedelta(minutes=30) <= latest] or starts[:1]
        if not starts:
            return None
        step = dt.timedelta(minutes=SLOT_MINUTES)
        first = min(len(starts) - 1, int(self.rng.triangular(0, len(starts), 0)))
        order = starts[first:] + starts[:first]
        for at in order:
            for bay in self.bays:
                if bay.kind in kind.bay_kinds and all((bay.pk, at + step * j) not in self.taken
                                                      for j in range(length)):
                    for j in range(length):
                        self.taken.add((bay.pk, at + step * j))
                    return at, bay
        return None

    def _add(self, *, order, vehicle_id, customer_id, kind, day, state, latest=None):
        placed = self._place(day, kind, latest)
        if placed is None:
            return
        start, bay = placed
        rng = self.rng
        lead = dt.timedelta(days=rng.choice((0, 1, 1, 2, 2, 3, 3, 4, 5, 7, 10)), hours=rng.randint(1, 8))
        created = min(start - dt.timedelta(hours=1), start - lead)
        end = start + dt.timedelta(minutes=max(SLOT_MINUTES, -(-kind.duration_minutes // SLOT_MINUTES) * SLOT_MINUTES))
        advisor_id = self.advisor.user_id if self.advisor and order and order[3] == self.advisor.display_name else None
        arrived = start + dt.timedelta(minutes=rng.randint(-15, 20)) if state == BookingState.ARRIVED else None
        self.bookings.append({
            "store_id": self.store.pk, "customer_id": customer_id, "vehicle_id": vehicle_id, "bay_id": bay.pk,
            "advisor_id": advisor_id, "start_at": start, "end_at": end, "state": state,
            "source": rng.choice((BookingSource.CALL, BookingSource.CALL, BookingSource.PHONE_IN,
                                  BookingSource.CUSTOMER_PAGE)),
            "notes": rng.choice(_NOTES),
            "parts_to_prepare": "机油滤清器、机油" if kind.code.endswith("maintenance") else "",
            "repair_order_id": order[0] if order else None, "arrived_at": arrived, "created_at": created,
            "updated_at": arrived or start, "reminded_on": (start - dt.timedelta(days=1)).astimezone(TZ).date()
            if start - created > dt.timedelta(days=1) else None,
            "_kind": kind.pk, "_length": -(-kind.duration_minutes // SLOT_MINUTES), "_bay": bay.pk,
        })

    def run(self) -> None:
        rng = self.rng
        orders = list(RepairOrder.objects.filter(store=self.store, booked=True, settled_at__lt=self.now)
                      .order_by("settled_at", "id")
                      .values_list("id", "vehicle_id", "customer_id", "service_advisor", "kind", "settled_at"))
        for order in orders:
            day = order[5].astimezone(TZ).date()
            if day >= self.today:
                continue
            kind = self.kinds[KIND_OF_ORDER.get(order[4], "maintenance")]
            self._add(order=order, vehicle_id=order[1], customer_id=order[2], kind=kind, day=day,
                      state=BookingState.ARRIVED, latest=order[5])
        # no-shows and cancellations: appointments that brought no order, on the booked days' spread
        made = len(self.bookings)
        extra = round(made * (NO_SHOW_SHARE + CANCEL_SHARE) / (1 - NO_SHOW_SHARE - CANCEL_SHARE))
        vehicles = _current_owners(self.store)
        days = [b["start_at"].astimezone(TZ).date() for b in self.bookings]
        maintenance = self.kinds["maintenance"]
        for _i in range(extra if vehicles and days else 0):
            vehicle_id, owner_id = rng.choice(vehicles)
            if owner_id is None:
                continue
            no_show = rng.random() < NO_SHOW_SHARE / (NO_SHOW_SHARE + CANCEL_SHARE)
            self._add(order=None, vehicle_id=vehicle_id, customer_id=owner_id, kind=maintenance,
                      day=rng.choice(days), state=BookingState.NO_SHOW if no_show else BookingState.CANCELLED)

    def write(self) -> None:
        if not self.bookings:
            return
        with connection.cursor() as cursor:
            ids = _reserve_ids(cursor, Booking, len(self.bookings))
        step = dt.timedelta(minutes=SLOT_MINUTES)
        rows, kinds, slots, events = [], [], [], []
        through = Booking.kinds.through
        for pk, b in zip(ids, self.bookings, strict=True):
            row = {k: v for k, v in b.items() if not k.startswith("_")}
            row["id"] = pk
            rows.append(row)
            kinds.append({"booking_id": pk, "servicekind_id": b["_kind"]})
            if b["state"] in (BookingState.ARRIVED, BookingState.BOOKED):  # the others freed their slots
                slots += [{"store_id": b["store_id"], "bay_id": b["_bay"], "start_at": b["start_at"] + step * j,
                           "booking_id": pk} for j in range(b["_length"])]
            events.append({"booking_id": pk, "kind": BookingEventKind.CREATED, "at": b["created_at"],
                           "actor_id": b["advisor_id"], "detail": _json({})})
            if b["state"] == BookingState.BOOKED:  # today's late one: made, not arrived yet
                continue
            last = {BookingState.ARRIVED: BookingEventKind.ARRIVED, BookingState.NO_SHOW: BookingEventKind.NO_SHOW,
                    BookingState.CANCELLED: BookingEventKind.CANCELLED}[b["state"]]
            at = b["arrived_at"] or (b["start_at"] + dt.timedelta(minutes=35) if last == BookingEventKind.NO_SHOW
                                     else b["created_at"] + (b["start_at"] - b["created_at"]) / 2)
            events.append({"booking_id": pk, "kind": last, "at": at, "actor_id": None, "detail": _json({})})
            if b["repair_order_id"]:
                events.append({"booking_id": pk, "kind": BookingEventKind.MATCHED, "at": at, "actor_id": None,
                               "detail": _json({"repair_order": b["repair_order_id"]})})
        _insert(Booking, rows, self.now)
        _insert(through, kinds, self.now)
        _insert(BookingSlot, slots, self.now)
        _insert(BookingEvent, events, self.now)


_RESCUE_PLACES = ("广州大道中与黄埔大道交界", "华南快速干线科韵路出口", "天河路太古汇地下停车场",
                  "机场高速北行18公里处", "白云大道北永泰路口", "环城高速新滘出口", "海珠区江南大道中",
                  "番禺大道市桥段")
_RESCUE_WHAT = (
    ("蓄电池亏电，无法启动", "fixed_on_site"), ("爆胎", "fixed_on_site"), ("追尾事故，车辆无法行驶", "towed_here"),
    ("发动机故障灯亮，动力不足", "towed_here"), ("钥匙锁在车内", "fixed_on_site"), ("缺油", "fixed_on_site"),
    ("变速箱异响，无法挂挡", "towed_here"), ("水温过高", "towed_here"),
)


def _rescue_calls(store, rng, advisor, start: dt.date, now: dt.datetime) -> int:
    """About five rescue calls a month over the window, on the store's vehicles: most dispatched to the store's
    advisor or a partner's tow truck and arrived, the time from the call to the arrival shortening over the window
    (a median of about an hour at its start, 45 minutes at its end; seed 000 p22 asks for a shorter arrival time);
    a few cancelled by the customer. Bulk-written: the times are made in order, as the service and the database
    check them."""
    owners = _current_owners(store)
    if not owners:
        return 0
    begin = dt.datetime.combine(start, dt.time(0), tzinfo=TZ)
    span = (now - begin).total_seconds()
    rows = []
    at = begin
    while True:
        at += dt.timedelta(hours=rng.uniform(60, 230))  # about five a month
        if at >= now - dt.timedelta(hours=3):
            break
        progress = (at - begin).total_seconds() / span
        vehicle_id, customer_id = rng.choice(owners)
        what, outcome = rng.choice(_RESCUE_WHAT)
        reported = at.replace(minute=rng.randint(0, 59), second=0, microsecond=0)
        call = RescueCall(store=store, customer_id=customer_id, vehicle_id=vehicle_id, reported_at=reported,
                          place=rng.choice(_RESCUE_PLACES), what_happened=what, created_by=advisor and advisor.user)
        if rng.random() < 0.06:
            call.outcome = RescueOutcome.CANCELLED
        else:
            call.dispatched_at = reported + dt.timedelta(minutes=rng.randint(3, 15))
            if advisor is not None and outcome == "fixed_on_site":
                call.dispatched_user = advisor.user
            else:
                call.dispatched_to = "合作拖车 粤A救援"
            median = 55 - 20 * progress
            call.arrived_at = call.dispatched_at + dt.timedelta(minutes=max(8, rng.lognormvariate(0, 0.35) * median))
            call.outcome = outcome
        rows.append(call)
    RescueCall.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def _current_owners(store) -> list[tuple[int, int]]:
    """(vehicle id, current owner's customer id) of the store's vehicles."""
    return list(Ownership.objects.filter(store=store, valid_to__isnull=True).order_by("vehicle_id")
                .values_list("vehicle_id", "customer_id"))


def _ahead(store, rng, kinds, advisor, now, today) -> int:
    """Today's appointments (earlier ones arrived, one late) and the next days', the later ones through the
    booking service."""
    if advisor is None:
        return 0
    user = advisor.user
    vehicles = _current_owners(store)
    if not vehicles:
        return 0
    store_kinds = [kinds["maintenance"], kinds["maintenance"], kinds["first_maintenance"], kinds["mechanical"],
                   kinds["body_estimate"]]
    made = 0
    per_day = PER_DAY_AHEAD.get(store.code, 8)
    vehicle_rows = {v.pk: v for v in Vehicle.objects.filter(pk__in=[v for v, _o in vehicles])}
    customer_rows = {c.pk: c for c in Customer.objects.filter(pk__in={o for _v, o in vehicles})}
    from aftercare.appointments.availability import availability

    for offset in range(AHEAD_DAYS + 1):
        day = today + dt.timedelta(days=offset)
        want = per_day - offset // 2
        for _i in range(want):
            kind = rng.choice(store_kinds)
            plan = availability(store_id=store.pk, start=day, end=day, kinds=[kind], now=now)[0]
            if not plan.free:
                break
            start_at, _bay = plan.free[min(len(plan.free) - 1, int(rng.triangular(0, len(plan.free), 0)))]
            vehicle_id, owner_id = rng.choice(vehicles)
            try:
                booking_create(actor=user, store=store, customer=customer_rows[owner_id],
                               vehicle=vehicle_rows[vehicle_id], kinds=[kind], start_at=start_at, advisor=user,
                               notes=rng.choice(_NOTES), source=rng.choice((BookingSource.CALL,
                                                                            BookingSource.PHONE_IN)),
                               parts_to_prepare="机油滤清器、机油" if kind.code.endswith("maintenance") else "")
                made += 1
            except SlotTaken:
                continue
    made += _today_past(store, rng, kinds, advisor, vehicles, now, today)
    return made


def _today_past(store, rng, kinds, advisor, vehicles, now, today) -> int:
    """Today's appointments before now: arrived, the last one still booked (late, within the grace)."""
    hist = _History(store, rng, kinds, list(Bay.objects.filter(store=store).order_by("id")), advisor, now, today)
    hist.taken = {(bay, at.astimezone(TZ)) for bay, at in BookingSlot.objects.filter(
        store=store, start_at__gte=dt.datetime.combine(today, dt.time(0), tzinfo=TZ)).values_list("bay_id", "start_at")}
    for at in hist._slots(today):
        if at + dt.timedelta(minutes=20) > now or (rng.random() > 0.7 and len(hist.bookings) >= 2):
            continue
        vehicle_id, owner_id = rng.choice(vehicles)
        hist._add(order=None, vehicle_id=vehicle_id, customer_id=owner_id, kind=kinds["maintenance"], day=today,
                  state=BookingState.ARRIVED, latest=at + dt.timedelta(minutes=31))
    hist.bookings = [b for b in hist.bookings if b["start_at"] + dt.timedelta(minutes=20) <= now]
    if hist.bookings:
        late = max(hist.bookings, key=lambda b: b["start_at"])
        late.update(state=BookingState.BOOKED, arrived_at=None)
    for b in hist.bookings:
        b["advisor_id"] = advisor.user_id
    hist.write()
    return len(hist.bookings)
