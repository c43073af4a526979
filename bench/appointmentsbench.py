"""Appointments benchmark: the month availability view and booking throughput on PostgreSQL, each against its limit.

`python -m bench appointments [--bookings 15000]` needs `DATABASE_URL` pointing at a PostgreSQL server; a scratch
database (default `aftercare_bench_ap`) on that server is dropped, created and migrated. One store: six bays (a
dedicated appointment bay, four general, one express), open 08:30–17:30 every day (30-minute slots), 20 % held back
for walk-ins, a year of bookings — the last 300 days and the next 65 — of 1–3 slots each, with their `BookingSlot`
rows (the past ones arrived, about 8 % cancelled or no-shows without slots).

1. **Month view**: `availability(store_id, start, end)` for the next calendar month (kinds: maintenance), p50 and
   p95 of `--runs` runs (target: p95 < 50 ms), against the limit: one hand-written SQL reading the same slots and
   bookings of the month (the rows the view cannot do without).
2. **Booking throughput**: `booking_create` (day lock, availability check, unique slot constraint, history and
   audit) on empty days after the data, sequential and with 4 threads, in bookings/s, against the limit: the same
   rows (booking, kind, slots, event) written by hand-written INSERTs, one transaction a booking.
"""

import datetime as dt
import statistics
import sys
import threading
import time

from .importbench import bench_database, postgres_url

PAST_DAYS, AHEAD_DAYS = 300, 65
TARGET_P95_MS = 50.0


def load_data(bookings: int, *, today: dt.date | None = None, seed: int = 17) -> dict:
    """One store with its capacity and `bookings` bookings over the year around `today` (the current database)."""
    import random

    from django.db import connection, transaction

    from aftercare.appointments.choices import BayKind, BookingSource, BookingState
    from aftercare.appointments.models import (
        AppointmentSettings,
        Bay,
        Booking,
        BookingSlot,
        OpeningHours,
        ServiceKind,
    )
    from aftercare.customers.models import Customer, Ownership, Vehicle
    from aftercare.org.calendar import business_date, business_tz
    from aftercare.org.choices import Role
    from aftercare.org.models import DealerGroup, Region, Staff, Store
    from aftercare.testing.factories import UserFactory, make_vin

    rng = random.Random(seed)
    tz = business_tz()
    today = today or business_date()
    started = time.perf_counter()
    with transaction.atomic():
        group = DealerGroup.objects.create(code="BENCHAP", name="预约基准集团")
        region = Region.objects.create(group=group, code="R", name="大区")
        store = Store.objects.create(group=group, region=region, code="AP01", name="预约基准店", brand="别克",
                                     customer_number_prefix="AP01")
        user = UserFactory(username="bench_advisor")
        Staff.objects.create(user=user, group=group, role=Role.SERVICE_ADVISOR, display_name="基准顾问").stores.set(
            [store])
        AppointmentSettings.objects.create(store=store, walk_in_share=20, booking_horizon_days=365)
        bays = [Bay.objects.create(store=store, name="预约工位", kind=BayKind.APPOINTMENT)]
        bays += [Bay.objects.create(store=store, name=f"{i}号工位", kind=BayKind.GENERAL) for i in range(1, 5)]
        bays += [Bay.objects.create(store=store, name="快修工位", kind=BayKind.EXPRESS)]
        for wd in range(7):
            OpeningHours.objects.create(store=store, weekday=wd, opens_at=dt.time(8, 30), closes_at=dt.time(17, 30))
        maintenance = ServiceKind.objects.create(store=store, code="maintenance", name="常规保养",
                                                 duration_minutes=60, bay_kinds=["appointment", "general", "express"])
        n_customers = max(50, bookings // 8)
        customers = Customer.objects.bulk_create(
            Customer(store=store, number=f"AP01{i:07d}", name=f"客户{i}") for i in range(n_customers))
        vehicles = Vehicle.objects.bulk_create(
            Vehicle(store=store, vin=make_vin(i), plate=f"粤A{i:05d}", model="君威") for i in range(n_customers))
        Ownership.objects.bulk_create(
            Ownership(store=store, vehicle=v, customer=c, valid_from=today - dt.timedelta(days=900))
            for v, c in zip(vehicles, customers, strict=True))
        days = [today - dt.timedelta(days=PAST_DAYS) + dt.timedelta(days=i) for i in range(PAST_DAYS + AHEAD_DAYS)]
        per_day = bookings / len(days)
        rows, slot_rows = [], []
        now = dt.datetime.now(dt.UTC)
        step = dt.timedelta(minutes=30)
        for day in days:
            want = int(per_day) + (1 if rng.random() < per_day - int(per_day) else 0)
            free = {b.pk: 0 for b in bays}  # next free slot index per bay (18 slots a day)
            made = 0
            while made < want:
                bay = rng.choice(bays)
                length = rng.choice((1, 1, 2, 2, 2, 3))
                first = free[bay.pk] + rng.choice((0, 0, 0, 1))
                if first + length > 18:
                    if all(v >= 17 for v in free.values()):
                        break
                    free[bay.pk] = 18
                    continue
                free[bay.pk] = first + length
                start = dt.datetime.combine(day, dt.time(8, 30), tzinfo=tz).astimezone(dt.UTC) + step * first
                i = rng.randrange(n_customers)
                state = (BookingState.ARRIVED if start < now else BookingState.BOOKED)
                roll = rng.random()
                if roll < 0.05:
                    state = BookingState.CANCELLED
                elif roll < 0.08 and start < now:
                    state = BookingState.NO_SHOW
                rows.append(Booking(store=store, customer=customers[i], vehicle=vehicles[i], bay=bay,
                                    start_at=start, end_at=start + step * length, state=state,
                                    source=BookingSource.CALL))
                slot_rows.append((len(rows) - 1, bay.pk, start, length, state))
                made += 1
        Booking.objects.bulk_create(rows, batch_size=2000)
        Booking.kinds.through.objects.bulk_create(
            [Booking.kinds.through(booking_id=b.pk, servicekind_id=maintenance.pk) for b in rows], batch_size=5000)
        BookingSlot.objects.bulk_create(
            [BookingSlot(store=store, bay_id=bay_id, start_at=start + step * j, booking_id=rows[k].pk)
             for k, bay_id, start, length, state in slot_rows
             if state in (BookingState.ARRIVED, BookingState.BOOKED) for j in range(length)],
            batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            for table in ("appointments_booking", "appointments_bookingslot", "appointments_booking_kinds"):
                cur.execute(f"ANALYZE {table}")
    return {"store": store, "user": user, "maintenance": maintenance, "bookings": len(rows), "today": today,
            "vehicles": list(zip(customers, vehicles, strict=True)), "load_s": time.perf_counter() - started}


HAND_WRITTEN = """
SELECT s.bay_id, s.start_at FROM appointments_bookingslot s
 WHERE s.store_id = %(store)s AND s.start_at >= %(lo)s AND s.start_at < %(hi)s;
"""
HAND_WRITTEN_DAYS = """
SELECT b.start_at FROM appointments_booking b
 WHERE b.store_id = %(store)s AND b.start_at >= %(lo)s AND b.start_at < %(hi)s
   AND b.state IN ('booked', 'confirmed', 'arrived');
"""


def bench_month(data: dict, runs: int) -> dict:
    """p50 / p95 of the month view and of the hand-written reads of the same rows (alternating)."""
    from django.db import connection

    from aftercare.appointments.availability import availability
    from aftercare.org.calendar import business_day_start, month_add

    store, kind = data["store"], data["maintenance"]
    first, after = month_add(data["today"], 1), month_add(data["today"], 2)  # the next calendar month
    last = after - dt.timedelta(days=1)
    params = {"store": store.pk, "lo": business_day_start(first), "hi": business_day_start(after)}
    ours, hand, free = [], [], 0
    for _ in range(runs):
        t = time.perf_counter()
        days = availability(store_id=store.pk, start=first, end=last, kinds=[kind])
        ours.append((time.perf_counter() - t) * 1000)
        free = sum(len(d.free) for d in days)
        t = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(HAND_WRITTEN, params)
            slots = cur.fetchall()
            cur.execute(HAND_WRITTEN_DAYS, params)
            held = cur.fetchall()
        hand.append((time.perf_counter() - t) * 1000)
    return {"ours": ours, "hand": hand, "free": free, "slots": len(slots), "held": len(held), "month": first}


def _p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]


def _targets(data: dict, count: int, offset_days: int) -> list[dt.datetime]:
    """`count` slot starts on empty days after the data, spread over the day (each start several times)."""
    from aftercare.org.calendar import business_tz

    tz = business_tz()
    out = []
    day = data["today"] + dt.timedelta(days=AHEAD_DAYS + offset_days)
    while len(out) < count:
        for k in range(0, 16, 2):  # 08:30, 09:30 … (a 60-minute booking), three bays each
            at = dt.datetime.combine(day, dt.time(8, 30), tzinfo=tz) + dt.timedelta(minutes=30 * k)
            out += [at.astimezone(dt.UTC)] * 3
        day += dt.timedelta(days=1)
    return out[:count]


def bench_booking(data: dict, count: int, threads: int, offset_days: int) -> dict:
    """`count` bookings through `booking_create` on empty days, split over `threads` threads: bookings/s."""
    from django.db import connections

    from aftercare.appointments.services.booking import SlotTaken, booking_create

    starts = _targets(data, count, offset_days)
    store, user, kind = data["store"], data["user"], data["maintenance"]
    made, taken, errors = [0] * threads, [0] * threads, []

    def work(n: int) -> None:
        try:
            for i in range(n, len(starts), threads):
                customer, vehicle = data["vehicles"][i % len(data["vehicles"])]
                try:
                    booking_create(actor=user, store=store, customer=customer, vehicle=vehicle, kinds=[kind],
                                   start_at=starts[i])
                    made[n] += 1
                except SlotTaken:
                    taken[n] += 1
        except Exception as exc:  # noqa: BLE001  (reported, not hidden)
            errors.append(repr(exc))
        finally:
            if threads > 1:
                connections.close_all()

    t = time.perf_counter()
    if threads == 1:
        work(0)
    else:
        pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        for th in pool:
            th.start()
        for th in pool:
            th.join()
    secs = time.perf_counter() - t
    if errors:
        raise SystemExit(f"booking failed: {errors[0]}")
    return {"made": sum(made), "taken": sum(taken), "seconds": secs, "per_s": sum(made) / secs}


HAND_INSERT = """
WITH b AS (
  INSERT INTO appointments_booking (store_id, customer_id, vehicle_id, bay_id, start_at, end_at, state, source, notes,
         parts_to_prepare, created_at, updated_at)
  VALUES (%(store)s, %(customer)s, %(vehicle)s, %(bay)s, %(start)s, %(end)s, 'booked', 'api', '', '', now(), now())
  RETURNING id
), k AS (
  INSERT INTO appointments_booking_kinds (booking_id, servicekind_id) SELECT id, %(kind)s FROM b
), e AS (
  INSERT INTO appointments_bookingevent (booking_id, kind, at, detail) SELECT id, 'created', now(), '{}' FROM b
)
INSERT INTO appointments_bookingslot (store_id, bay_id, start_at, booking_id)
SELECT %(store)s, %(bay)s, t, id FROM b, unnest(ARRAY[%(start)s, %(start2)s]::timestamptz[]) t
"""


def bench_hand_insert(data: dict, count: int, offset_days: int) -> dict:
    """The limit: the same rows by hand-written INSERTs (bay chosen in Python), one transaction a booking."""
    from django.db import connection, transaction

    from aftercare.appointments.models import Bay

    bays = list(Bay.objects.filter(store=data["store"]).order_by("id").values_list("id", flat=True))[:3]
    starts = _targets(data, count, offset_days)
    made = 0
    t = time.perf_counter()
    for i, start in enumerate(starts):
        customer, vehicle = data["vehicles"][i % len(data["vehicles"])]
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(HAND_INSERT, {"store": data["store"].pk, "customer": customer.pk, "vehicle": vehicle.pk,
                                      "bay": bays[i % 3], "start": start, "end": start + dt.timedelta(hours=1),
                                      "start2": start + dt.timedelta(minutes=30), "kind": data["maintenance"].pk})
        made += 1
    secs = time.perf_counter() - t
    return {"made": made, "seconds": secs, "per_s": made / secs}


def report(data: dict, month: dict, booking: dict, out=print) -> bool:
    out(f"1 store, {data['bookings']:,} bookings over {PAST_DAYS + AHEAD_DAYS} days (loaded in {data['load_s']:.0f} s);"
        f" today {data['today']}")
    out("")
    runs = len(month["ours"])
    o50, o95 = statistics.median(month["ours"]), _p95(month["ours"])
    h50, h95 = statistics.median(month["hand"]), _p95(month["hand"])
    out(f"month view {month['month']:%Y-%m} ({runs} runs; {month['slots']:,} held slots, {month['held']:,} bookings, "
        f"{month['free']:,} free starts)")
    out(f"  {'availability(...)':<42} p50 {o50:7.1f} ms   p95 {o95:7.1f} ms")
    out(f"  {'hand-written SQL reading the same rows':<42} p50 {h50:7.1f} ms   p95 {h95:7.1f} ms")
    out(f"  ratio (p95): {o95 / h95:.1f}x")
    out("")
    out(f"{'booking throughput':<48} {'made':>6} {'refused':>8} {'bookings/s':>11} {'vs limit':>9}")
    limit = booking["hand"]["per_s"]
    for label, r in (("booking_create, sequential", booking["seq"]), ("booking_create, 4 threads", booking["par"])):
        out(f"  {label:<46} {r['made']:>6} {r['taken']:>8} {r['per_s']:>11.1f} {limit / r['per_s']:>8.1f}x")
    out(f"  {'hand-written INSERTs (the limit)':<46} {booking['hand']['made']:>6} {'':>8} {limit:>11.1f}")
    ok = o95 < TARGET_P95_MS
    out("")
    out(f"target: month view p95 under {TARGET_P95_MS:.0f} ms: {'met' if ok else 'NOT met'}")
    return ok


def run(args) -> int:
    url = postgres_url("appointments")
    if url is None:
        return 2
    if args.bookings < 100 or args.runs < 2 or args.count < 4:
        print("--bookings must be at least 100, --runs at least 2, --count at least 4", file=sys.stderr)
        return 2
    with bench_database(url, args.database, keep=args.keep):
        data = load_data(args.bookings)
        month = bench_month(data, args.runs)
        per_day = 24  # _targets: 8 starts × 3 bays
        days = args.count // per_day + 2
        booking = {"seq": bench_booking(data, args.count, 1, 1),
                   "par": bench_booking(data, args.count, 4, 1 + days),
                   "hand": bench_hand_insert(data, args.count, 1 + 2 * days)}
        print()
        return 0 if report(data, month, booking) else 1
