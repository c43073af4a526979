"""`manage.py seed_demo`: the demo dealer group, once; `--scale N` adds N customers for benchmarks."""

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.models import RepairOrder, Vehicle
from aftercare.demo.appointments import demo_appointments_create, demo_appointments_exist
from aftercare.demo.care import demo_care_create, demo_care_exist
from aftercare.demo.complaints import demo_complaints_create, demo_complaints_exist
from aftercare.demo.customers import Context, FastRandom, demo_handover_times, generate_chunk, write_chunk
from aftercare.demo.evaluations import demo_evaluations_create, demo_evaluations_exist
from aftercare.demo.followups import demo_followups_create, demo_followups_exist
from aftercare.demo.org import (
    DEMO_PASSWORD,
    GROUP_NAME,
    STORES,
    demo_group,
    demo_group_delete,
    demo_logins,
    demo_org_create,
    logins_table,
)
from aftercare.demo.quality import demo_quality_create, demo_quality_exist
from aftercare.demo.renewals import demo_renewals_create, demo_renewals_exist
from aftercare.demo.reports_actions import demo_actions_create, demo_actions_exist
from aftercare.demo.reports_ssi import demo_ssi_create, demo_ssi_exist
from aftercare.org.models import Store

DEMO_CUSTOMERS = 2000
SCALE_CHUNK = 20_000


def _backfills() -> tuple:
    """The parts a demo seeded by an older version may lack, in the order they came: (exists, create, what it adds).
    A rerun of `seed_demo` adds the first missing one; the advisors' logins of appointments need --reset. Built when
    it runs (a test replaces some of these functions)."""
    return (
        (demo_followups_exist, _followups_backfill, "the follow-up history"),
        (demo_complaints_exist, _complaints_backfill, "the complaint handling"),
        (demo_renewals_exist, demo_renewals_create, "the renewal history"),
        (demo_appointments_exist, demo_appointments_create, "the appointment history"),
        (demo_care_exist, demo_care_create, "customer care"),
        (demo_ssi_exist, demo_ssi_create, "the carmaker's SSI results"),
        (demo_actions_exist, demo_actions_create, "the action register"),
        (demo_quality_exist, demo_quality_create, "the parts-quality history"),
        (demo_evaluations_exist, demo_evaluations_create, "the dealer evaluation"),
    )


def _followups_backfill(*, stores, seed: int) -> dict:
    """The follow-up history, with the complaints (and renewals, if missing) that build on its rules."""
    counts = demo_followups_create(stores=stores, seed=seed) | demo_complaints_create(stores=stores, seed=seed)
    if not demo_renewals_exist(stores):
        counts |= demo_renewals_create(stores=stores, seed=seed)
    return counts


def _complaints_backfill(*, stores, seed: int) -> dict:
    counts = demo_complaints_create(stores=stores, seed=seed)
    if not demo_renewals_exist(stores):
        counts |= demo_renewals_create(stores=stores, seed=seed)
    return counts

class Command(BaseCommand):
    help = (
        "Create the demo dealer group (regions, stores, staff logins, about 2,000 customers with 18 months of "
        "deliveries, repair orders and policies). Does nothing if it exists, unless --reset. "
        "--scale N adds N more customers (with vehicles, orders, policies) for benchmarks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="delete the demo group and all its data first")
        parser.add_argument("--scale", type=int, metavar="N", help="add N customers fast (benchmark data)")
        parser.add_argument("--seed", type=int, default=20131231, help="random seed (default: %(default)s)")
        parser.add_argument("--customers", type=int, default=DEMO_CUSTOMERS, help="demo size (default: %(default)s)")
        parser.add_argument(
            "--jobs", type=int, help="parallel writer processes for --scale (default: 2 on PostgreSQL, else 1)"
        )

    def handle(self, *args, reset=False, scale=None, seed=20131231, customers=DEMO_CUSTOMERS, jobs=None, **options):
        if scale is not None and scale < 1:
            raise CommandError("--scale must be a positive number of customers")
        if customers < 0:
            raise CommandError("--customers must not be negative")
        started = time.monotonic()
        if reset:
            demo_group_delete()
            self.stdout.write("Deleted the demo group and its data.")
        group = demo_group()
        if scale is not None:
            if group is None:
                demo_org_create()
            if jobs is None:
                jobs = 2 if connection.vendor == "postgresql" and scale >= 4 * SCALE_CHUNK else 1
            self._fill(scale, seed, chunk_size=SCALE_CHUNK, jobs=max(1, jobs), verbose=True)
            self.stdout.write(f"Scale data: {scale} customers added in {time.monotonic() - started:.1f} s.")
            return
        if group is not None:
            stores = list(group.stores.order_by("code"))
            missing = next((part for part in _backfills() if not part[0](stores)), None)
            if missing is not None and self._small(group):
                # a demo seeded before a part existed: add that part once (the first one missing, one per run)
                counts = missing[1](stores=stores, seed=seed)
                summary = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())
                self.stdout.write(f"Added {missing[2]} to demo group {GROUP_NAME}: {summary}.")
            else:
                self.stdout.write(f"Demo group {GROUP_NAME} already exists; nothing changed (use --reset to rebuild).")
        else:
            demo_org_create()
            counts = self._fill(customers, seed, chunk_size=None, jobs=1, verbose=False)
            group = demo_group()
            stores = list(group.stores.order_by("code"))
            demo_handover_times(stores=stores, seed=seed)
            counts |= demo_followups_create(stores=stores, seed=seed)
            if demo_followups_exist(stores):  # complaints and renewals build on the follow-up rules
                counts |= demo_complaints_create(stores=stores, seed=seed)
                counts |= demo_renewals_create(stores=stores, seed=seed)
            counts |= demo_appointments_create(stores=stores, seed=seed)
            counts |= demo_care_create(stores=stores, seed=seed)
            counts |= demo_ssi_create(stores=stores, seed=seed)
            counts |= demo_actions_create(stores=stores, seed=seed)
            counts |= demo_quality_create(stores=stores, seed=seed)
            counts |= demo_evaluations_create(stores=stores, seed=seed)
            summary = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())
            self.stdout.write(f"Created demo group {GROUP_NAME}: {summary} ({time.monotonic() - started:.1f} s).")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD}):")
        self.stdout.write(logins_table(demo_logins()))

    @staticmethod
    def _small(group) -> bool:
        """No follow-up backfill over `--scale` data (millions of orders): that needs --reset."""
        return RepairOrder.objects.filter(store__group=group).count() <= 50 * DEMO_CUSTOMERS

    def _fill(self, total: int, seed: int, *, chunk_size: int | None, jobs: int, verbose: bool) -> dict[str, int]:
        """Generate and store `total` customers across the demo stores, in blocks of `chunk_size`.

        Blocks are independent (their natural keys come from reserved ids), so with `jobs` > 1 they
        are planned and written by that many processes at once, each with its own connection.
        """
        group = demo_group()
        stores = {s.code: s.pk for s in group.stores.all()}
        ctx = Context.build()
        salt = Vehicle.objects.order_by("-id").values_list("id", flat=True).first() or 0  # new runs, new data
        shares = [round(total * spec.share) for spec in STORES]
        shares[0] += total - sum(shares)
        blocks = []
        for spec, share in zip(STORES, shares, strict=True):
            done, n = 0, 0
            while done < share:
                size = min(share - done, chunk_size or share)
                done += size
                blocks.append((stores[spec.code], spec, f"{seed}:{spec.code}:{n}:{salt}", size, ctx, not verbose))
                n += 1
        totals: dict[str, int] = {}
        started = time.monotonic()
        done_customers = 0

        def report(result):
            nonlocal done_customers
            counts, planned, written = result
            for k, v in counts.items():
                totals[k] = totals.get(k, 0) + v
            done_customers += counts["customers"]
            if verbose:
                rows = sum(totals.values())
                elapsed = time.monotonic() - started
                self.stdout.write(
                    f"{rows:>10} rows ({totals['customers']} customers) after {elapsed:6.1f} s, "
                    f"{rows / max(elapsed, 1e-9):,.0f} rows/s; block planned in {planned:.1f} s, "
                    f"written in {written:.1f} s"
                )

        if jobs > 1 and len(blocks) > 1 and not connection.in_atomic_block:
            connections.close_all()  # children must open their own connections
            with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
                for result in pool.map(_block, blocks):
                    report(result)
        else:
            for block in blocks:
                report(_block(block))
        for spec, share in zip(STORES, shares, strict=True):
            audit_event_record(
                actor=None, action=AuditAction.IMPORT, object_type="org.demo_seed", store_id=stores[spec.code],
                detail={"customers": share, "scale": verbose},
            )
        if verbose:
            rows = sum(totals.values())
            elapsed = time.monotonic() - started
            self.stdout.write(
                ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in totals.items())
                + f" — {rows} rows on {connection.vendor} in {elapsed:.1f} s ({rows / max(elapsed, 1e-9):,.0f} rows/s,"
                f" {jobs} job{'s' if jobs > 1 else ''})"
            )
        return totals


def _block(args) -> tuple[dict[str, int], float, float]:
    """Plan and write one block; returns its row counts and the seconds spent planning and writing."""
    store_id, spec, seed, size, ctx, mileage = args
    t0 = time.monotonic()
    chunk = generate_chunk(rng=FastRandom(seed), ctx=ctx, spec=spec, customers=size)
    if not mileage:  # scale data: no delivery mileage readings either
        chunk.mileage = []
    t1 = time.monotonic()
    write_chunk(Store.objects.get(pk=store_id), chunk)
    return chunk.counts(), t1 - t0, time.monotonic() - t1
