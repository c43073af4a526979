"""Renewal history of the demo group (续保): gifts, targets, 18 months of cases, contacts, outcomes, today's list.

`demo_renewals_create` runs after the follow-up and complaint history (`seed_demo`, not `--scale`):

1. every store's gift list (`RenewalGift`: 洗车券 ×5, 机油保养一次, 行车记录仪, 脚垫, with their cost) and its
   monthly renewal-rate targets (`org.KpiTarget` of the measure `RENEWAL_RATE_MEASURE`, the quarters' targets set
   by month, from the window's first month to December of this year);
2. the cases, with the real set-based services: `renewal_cases_generate` as the daily job would have run it over
   the 18 months (one run a quarter apart covers every window: a window is 120 days), then
   `renewal_cases_match_renewals`, which closes as renewed here every case the demo's policies renewed;
3. the specialists' work, simulated in bulk (replaying ~6,000 calls through `renewal_contact_record` with a moved
   clock would take minutes), along the services' state machine: each contact is a follow-up task of the store's
   `RENEWAL` rule (made by the real `followup_task_create`), claimed by the store's renewal specialist (now and then
   the CS manager, who holds the case from then on), with its calls in the call log (1–3 attempts; three
   no-answers or a wrong number make the contact unreachable), the contact's channel, result, quote (insurer,
   premium, discount), gift and next step; the outcome recorded by the holder — renewed here (the imported
   policy's insurer, premium and number), renewed elsewhere or not renewed with a loss reason (price for about
   half of the losses: `LOSS_REASONS`);
4. today: `renewal_cases_lapse` closes the chases that ended without an outcome, and `renewal_contacts_plan` (the
   real service) makes each open case's contact due today or overdue a task in the queue — about
   `DUE_TODAY[store]` of them (`gz_renewal` starts the day with about 10 calls).

Deterministic for a seed and a day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.choices import LossReason
from aftercare.customers.models import Customer, InsurancePolicy, Vehicle
from aftercare.followups.choices import (
    CallDirection,
    CallOutcome,
    LetterChannel,
    LetterKind,
    LetterStatus,
    SubjectType,
    TaskStatus,
    Trigger,
)
from aftercare.followups.models import CallLog, FollowupTask, LetterLog
from aftercare.followups.services.rules import followup_rule_due_at, followup_rule_get
from aftercare.org.calendar import business_date, business_day_start
from aftercare.org.choices import KpiPeriodKind, Role
from aftercare.org.models import KpiTarget, Staff, Store
from aftercare.renewals.choices import EFFECTIVE_RESULTS, CaseState, ContactChannel, ContactResult, Outcome
from aftercare.renewals.models import RenewalCase, RenewalContact, RenewalGift
from aftercare.renewals.services.generation import (
    CONTACT_GAP_DAYS,
    contact_due_on,
    renewal_cases_generate,
    renewal_cases_lapse,
    renewal_cases_match_renewals,
    renewal_contacts_plan,
    renewal_settings_map,
)

from .customers import CAR_MODELS, INSURERS, TZ, WINDOW_MONTHS, FastRandom, _cum, _reserve_ids, months_before

RENEWAL_RATE_MEASURE = "renewals.renewal_rate"  # registered in the KPI catalogue by the renewals app
GIFTS = (
    ("洗车券 ×5", Decimal(100)), ("机油保养一次", Decimal(380)), ("行车记录仪", Decimal(260)), ("脚垫", Decimal(150)),
)
_GIFT_WEIGHTS = _cum((4, 2, 1, 3))
# renewal-rate targets (%) of the quarters; the months of a quarter rise by a point each
QUARTER_TARGETS = (56, 58, 60, 63)
STORE_TARGET_OFFSET = {"GZ01": 2, "FS01": 0, "HZ01": -1}
# calls in each store's renewal queue today (due today or overdue)
DUE_TODAY = {"GZ01": 10, "FS01": 7, "HZ01": 6}
GENERATE_STEP_DAYS = 90
WORK_START_H, WORK_END_H = 9.0, 18.5  # the insurance desk calls 09:00–18:30
# why the renewals that did not happen here were lost (战败分析): price first
LOSS_REASONS = (
    (LossReason.PRICE, 46), (LossReason.ANOTHER_DEALER, 12), (LossReason.CLAIMS_EXPERIENCE, 10),
    (LossReason.SOLD_CAR, 8), (LossReason.UNREACHABLE, 8), (LossReason.SERVICE, 6), (LossReason.MOVED, 6),
    (LossReason.OTHER, 4),
)
_LOSS_WEIGHTS = _cum(w for _r, w in LOSS_REASONS)
_OTHER_TEXTS = ("车辆挂靠公司，由公司统一投保", "客户亲戚在保险公司工作", "车辆准备报废")
_NEXT_STEPS = ("客户考虑中，一周后再联系", "已发报价短信，等待客户确认", "客户要对比其他保险公司报价",
               "约客户到店面谈", "客户出差，下周回来再联系")
_NOTES = {
    ContactResult.NO_ANSWER: "无人接听",
    ContactResult.BUSY: "占线",
    ContactResult.WRONG_NUMBER: "号码错误（空号）",
    ContactResult.INTERESTED: "客户有意向，已报价",
    ContactResult.THINKING: "客户考虑中",
    ContactResult.DECLINED: "客户明确不在我店续保",
}
_CALL_OUTCOME = {
    ContactResult.INTERESTED: CallOutcome.COMPLETED,
    ContactResult.THINKING: CallOutcome.COMPLETED,
    ContactResult.DECLINED: CallOutcome.COMPLETED,
    ContactResult.NO_ANSWER: CallOutcome.NO_ANSWER,
    ContactResult.BUSY: CallOutcome.BUSY,
    ContactResult.WRONG_NUMBER: CallOutcome.WRONG_NUMBER,
}
_MODEL_PRICE = {m.name: m.price for m in CAR_MODELS}
_INSURER_NAMES = tuple(i[0] for i in INSURERS)
_INSURER_WEIGHTS = _cum(i[1] for i in INSURERS)


def demo_renewals_exist(stores: list[Store]) -> bool:
    return RenewalGift.objects.filter(store__in=stores).exists()


def demo_renewals_create(*, stores: list[Store], seed: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Gifts, targets and the renewal history of the demo `stores` (see the module docstring)."""
    now = now or timezone.now()
    today = business_date(now)
    start = months_before(today, WINDOW_MONTHS)
    counts: dict[str, int] = defaultdict(int)
    with transaction.atomic():
        _targets(stores, start, today)
        for store in stores:
            gifts = _gifts(store)
            made = 0
            day, since = start + dt.timedelta(days=30), start
            while day < today:  # the daily job, a quarter at a time: each window reaches 120 days
                made += renewal_cases_generate(store_id=store.pk, today=day, since=since)
                day, since = day + dt.timedelta(days=GENERATE_STEP_DAYS), None
            made += renewal_cases_generate(store_id=store.pk, today=today)
            renewal_cases_match_renewals(store_id=store.pk)
            sim = _StoreRenewals(store, FastRandom(f"{seed}:renewals:{store.code}"), gifts, now, today)
            sim.run()
            sim.write()
            renewal_cases_lapse(store_id=store.pk, today=today)
            planned = renewal_contacts_plan(store_id=store.pk, today=today)
            _backdate(store, now)
            store_counts = {"renewal_cases": made, "renewal_contacts": len(sim.contacts) + planned,
                            "renewal_calls": sim.calls_count}
            for key, value in store_counts.items():
                counts[key] += value
            counts["renewal_contacts_due_today"] += planned
            audit_event_record(
                actor=None, action=AuditAction.IMPORT, object_type="org.demo_seed", store_id=store.pk,
                detail={"renewals": store_counts},
            )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in (RenewalCase, RenewalContact, FollowupTask, CallLog):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return dict(counts)


def _gifts(store: Store) -> list[RenewalGift]:
    rows = []
    for name, cost in GIFTS:
        gift = RenewalGift(store=store, name=name, cost=cost)
        gift.full_clean(exclude=["store"])
        rows.append(gift)
    RenewalGift.objects.bulk_create(rows, ignore_conflicts=True)
    return list(RenewalGift.objects.filter(store=store, name__in=[n for n, _c in GIFTS]).order_by("id"))


def _targets(stores: list[Store], start: dt.date, today: dt.date) -> None:
    """The quarters' renewal-rate targets set by month (seed 000 p25), from the window's first month to December."""
    rows = []
    month = start.replace(day=1)
    while month.year <= today.year:
        q, m = divmod(month.month - 1, 3)
        for store in stores:
            value = QUARTER_TARGETS[q] + m + STORE_TARGET_OFFSET.get(store.code, 0)
            rows.append(KpiTarget(store=store, measure_code=RENEWAL_RATE_MEASURE, period_kind=KpiPeriodKind.MONTH,
                                  period_start=month, value=Decimal(value)))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    KpiTarget.objects.bulk_create(rows, ignore_conflicts=True)


@dataclass
class _Call:
    at: dt.datetime
    result: str
    duration: int


@dataclass
class _Contact:
    case: dict
    number: int
    due_on: dt.date
    handler: object
    calls: list[_Call] = field(default_factory=list)
    quote: tuple | None = None  # (insurer, premium, discount)
    gift: RenewalGift | None = None
    next_step: str = ""
    row: RenewalContact | None = None

    @property
    def result(self) -> str:
        return self.calls[-1].result

    @property
    def done_at(self) -> dt.datetime:
        return self.calls[-1].at


class _StoreRenewals:
    """Plans the renewal desk's work on one store's cases, then writes it in bulk."""

    def __init__(self, store: Store, rng: FastRandom, gifts: list[RenewalGift], now: dt.datetime, today: dt.date):
        self.store, self.rng, self.gifts, self.now, self.today = store, rng, gifts, now, today
        self.settings = renewal_settings_map([store.pk])[store.pk]
        staff = Staff.objects.filter(stores=store, role__in=[Role.RENEWAL_SPECIALIST, Role.CS_MANAGER]).select_related(
            "user").order_by("role", "user__username")
        self.specialist = next((s.user for s in staff if s.role == Role.RENEWAL_SPECIALIST), None)
        self.manager = next((s.user for s in staff if s.role == Role.CS_MANAGER), None) or self.specialist
        self.cases = list(
            RenewalCase.objects.filter(store=store).order_by("expiry_date", "id").values(
                "id", "customer_id", "vehicle_id", "expiry_date", "expiry_estimated", "segment", "state",
                "previous_insurer", "previous_premium", "renewed_policy_id",
            )
        )
        self.consent = dict(Customer.objects.filter(store=store).values_list("id", "consent_service_calls"))
        self.model = dict(Vehicle.objects.filter(store=store).values_list("id", "model"))
        self.renewals = {
            p["id"]: p for p in InsurancePolicy.objects.filter(
                pk__in=[c["renewed_policy_id"] for c in self.cases if c["renewed_policy_id"]]
            ).values("id", "insurer", "premium", "policy_number", "start_date")
        }
        with translation.override(settings.LANGUAGE_CODE):  # the text of followup_attempt_record's notice
            self.notice_text = gettext(
                "Dear customer, %(store)s tried to call you about your recent visit. "
                "If you have any feedback, please call us back."
            ) % {"store": store.name}
        self.contacts: list[_Contact] = []
        self.by_case: dict[int, list[_Contact]] = defaultdict(list)
        self.case_updates: dict[int, dict] = {}
        self.calls_count = 0

    # --- planning ---

    def run(self) -> None:
        if self.specialist is None:
            return
        chase = dt.timedelta(days=self.settings.lapse_chase_days)
        for case in self.cases:
            if not self.consent.get(case["customer_id"], False):
                continue  # no calls: renewed by the import, or lapsed
            if case["state"] == CaseState.RENEWED_HERE:
                self._renewed_here(case)
            elif case["expiry_date"] + chase < self.today:
                self._lost(case, chasing=False)
            elif case["expiry_date"] < self.today:
                self._lost(case, chasing=True)
            else:
                self._ahead(case)
        self._today()

    def _handler(self):
        return self.manager if self.rng.random() < 0.1 else self.specialist

    def _premium(self, case) -> Decimal:
        if case["previous_premium"] is not None:
            base = float(case["previous_premium"]) * self.rng.uniform(0.86, 0.98)
        else:
            base = _MODEL_PRICE.get(self.model.get(case["vehicle_id"]), 150_000) * 0.027 * self.rng.uniform(0.85, 1.2)
        return Decimal(f"{base:.2f}")

    def _quote(self, case) -> tuple:
        rng = self.rng
        insurer = case["previous_insurer"] or rng.weighted(_INSURER_NAMES, _INSURER_WEIGHTS)
        return insurer, self._premium(case), Decimal(rng.choice((5, 8, 10, 10, 12, 15)))

    def _moment(self, day: dt.date) -> dt.datetime:
        minutes = int(self.rng.uniform(WORK_START_H * 60, WORK_END_H * 60 - 30))
        return dt.datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=TZ).astimezone(dt.UTC)

    def _calls(self, day: dt.date, final: str) -> list[_Call]:
        """The calls of one contact on `day`: a failed try or two before the `final` one, minutes apart."""
        rng = self.rng
        at = self._moment(day)
        calls = []
        if final in EFFECTIVE_RESULTS:
            r = rng.random()
            for _ in range(0 if r < 0.7 else 1 if r < 0.92 else 2):
                calls.append(_Call(at, rng.choice((ContactResult.NO_ANSWER, ContactResult.BUSY)), rng.randint(5, 50)))
                at += dt.timedelta(minutes=rng.randint(30, 180))
            calls.append(_Call(at, final, rng.randint(90, 420)))
        elif final == ContactResult.WRONG_NUMBER:
            calls.append(_Call(at, final, rng.randint(5, 20)))
        else:  # unreachable after the store's maximum of no-answer / busy attempts
            for _ in range(3):
                calls.append(_Call(at, rng.choice((ContactResult.NO_ANSWER, ContactResult.NO_ANSWER,
                                                  ContactResult.BUSY)), rng.randint(5, 50)))
                at += dt.timedelta(minutes=rng.randint(60, 150))
        return calls

    def _due(self, case, number: int, previous: list[_Contact]) -> dt.date:
        due = contact_due_on(self.settings, case["expiry_date"], number)
        if previous:
            due = max(due, business_date(previous[-1].done_at) + dt.timedelta(days=CONTACT_GAP_DAYS))
        return due

    def _contact(self, case, handler, day: dt.date, final: str, *, quote: bool = False) -> _Contact:
        mine = self.by_case[case["id"]]
        # a contact made ahead of its day is due the day it is made (as `renewal_contact_record` makes it)
        k = _Contact(case=case, number=len(mine) + 1, due_on=min(day, self._due(case, len(mine) + 1, mine)),
                     handler=handler, calls=self._calls(day, final))
        if final in (ContactResult.INTERESTED, ContactResult.THINKING) or (quote and final in EFFECTIVE_RESULTS):
            k.quote = self._quote(case)
        if final == ContactResult.THINKING:
            k.next_step = self.rng.choice(_NEXT_STEPS)
        mine.append(k)
        self.contacts.append(k)
        return k

    def _walk(self, case, handler, results: list[str], last_day: dt.date) -> list[_Contact]:
        """Contacts with `results`, each made on its due day (sometimes the day after), none after `last_day`."""
        made = []
        for final in results:
            mine = self.by_case[case["id"]]
            if len(mine) >= self.settings.max_contacts:
                break
            day = self._due(case, len(mine) + 1, mine)
            if self.rng.random() < 0.2:
                day += dt.timedelta(days=1)
            if day > last_day:
                break
            made.append(self._contact(case, handler, day, final))
        return made

    def _renewed_here(self, case) -> None:
        """Called before the expiry; the last contact agreed, the outcome recorded; the policy came in by import."""
        rng = self.rng
        policy = self.renewals[case["renewed_policy_id"]]
        handler = self._handler()
        n = rng.choice((1, 1, 2, 2, 3))
        results = [ContactResult.THINKING] * (n - 1)
        made = self._walk(case, handler, [*results, ContactResult.INTERESTED],
                          min(policy["start_date"] - dt.timedelta(days=1), self.today - dt.timedelta(days=1)))
        if not made:
            return
        last = made[-1]
        if last.result != ContactResult.INTERESTED:
            last.calls.append(_Call(last.done_at + dt.timedelta(minutes=rng.randint(60, 120)),
                                    ContactResult.INTERESTED, rng.randint(120, 420)))
            last.quote = self._quote(case)
        last.quote = (policy["insurer"], policy["premium"], last.quote[2])
        if rng.random() < 0.65:
            last.gift = rng.weighted(self.gifts, _GIFT_WEIGHTS)
        self._close(case, handler, last.done_at + dt.timedelta(minutes=rng.randint(2, 30)), Outcome.RENEWED_HERE,
                    insurer=policy["insurer"], premium=policy["premium"], policy_number=policy["policy_number"])

    def _lost(self, case, *, chasing: bool) -> None:
        """Not renewed here: renewed elsewhere or not at all, with its reason; a few lapse without an outcome."""
        rng = self.rng
        handler = self._handler()
        if chasing:
            handler = self.specialist  # the open cases are the specialist's
        reason = rng.weighted([r for r, _w in LOSS_REASONS], _LOSS_WEIGHTS)
        unreachable = reason == LossReason.UNREACHABLE
        estimated = case["expiry_estimated"]
        n = rng.choice((1, 2, 2, 3, 4)) if not estimated else rng.choice((1, 1, 2))
        if unreachable:
            n = min(n, 2)
            results = [ContactResult.NO_ANSWER] * n
            if rng.random() < 0.3:
                results[-1] = ContactResult.WRONG_NUMBER
        else:
            results = [rng.choice((ContactResult.THINKING, ContactResult.THINKING, ContactResult.INTERESTED))
                       for _ in range(n - 1)] + [ContactResult.DECLINED]
        end = self.today - dt.timedelta(days=1)
        made = self._walk(case, handler, results, end)
        if chasing and (rng.random() < 0.45 or not made):
            self._ahead(case)  # still chased: open, in the specialist's hands, called when due
            return
        if not made or rng.random() < 0.06:
            return  # lapses without an outcome (renewal_cases_lapse)
        last = made[-1]
        if not unreachable and last.result != ContactResult.DECLINED:
            return
        elsewhere = not unreachable and reason not in (LossReason.SOLD_CAR, LossReason.MOVED) and rng.random() < 0.7
        if reason == LossReason.PRICE and last.quote is None:
            last.quote = self._quote(case)  # quoted, and the customer found it cheaper elsewhere
        outcome = Outcome.RENEWED_ELSEWHERE if elsewhere else Outcome.NOT_RENEWED
        insurer = rng.weighted(_INSURER_NAMES, _INSURER_WEIGHTS) if elsewhere else ""
        self._close(case, handler, last.done_at + dt.timedelta(minutes=rng.randint(2, 30)), outcome,
                    insurer=insurer, reason=reason,
                    reason_text=rng.choice(_OTHER_TEXTS) if reason == LossReason.OTHER else "")

    def _ahead(self, case) -> None:
        """Expiring from today on: the contacts due before today were made; no outcome yet."""
        rng = self.rng
        results = [ContactResult.NO_ANSWER if rng.random() < 0.04 else rng.choice(
            (ContactResult.THINKING, ContactResult.THINKING, ContactResult.INTERESTED))
            for _ in range(self.settings.max_contacts)]
        self._walk(case, self.specialist, results, self.today - dt.timedelta(days=1))

    def _close(self, case, handler, at: dt.datetime, outcome: str, *, insurer: str = "", premium=None,
               policy_number: str = "", reason: str = "", reason_text: str = "") -> None:
        self.case_updates.setdefault(case["id"], {}).update(
            outcome=outcome, outcome_insurer=insurer, outcome_premium=premium, outcome_policy_number=policy_number,
            outcome_reason=reason, outcome_reason_text=reason_text, outcome_by_id=handler.pk, outcome_at=at,
            closed_at=at, state=outcome if case["renewed_policy_id"] is None else CaseState.RENEWED_HERE,
        )

    # --- today ---

    def _open_next_due(self, case) -> dt.date | None:
        """The day `renewal_contacts_plan` will make the case's next contact due (None: no more contacts)."""
        mine = self.by_case.get(case["id"], [])
        if len(mine) >= self.settings.max_contacts:
            return None
        return self._due(case, len(mine) + 1, mine)

    def _today(self) -> None:
        """Leave about `DUE_TODAY` contacts for today: recent ones not made yet (overdue) when the day would be
        light, today's made yesterday (ahead of their day) when it would be heavy."""
        rng = self.rng
        chase = dt.timedelta(days=self.settings.lapse_chase_days)
        open_cases = [
            c for c in self.cases
            if c["id"] not in self.case_updates and c["state"] == CaseState.OPEN
            and c["expiry_date"] + chase >= self.today and self.consent.get(c["customer_id"], False)
        ]
        due = [c for c in open_cases if (d := self._open_next_due(c)) is not None and d <= self.today]
        want = DUE_TODAY.get(self.store.code, 6)
        if len(due) < want:
            recent = [c for c in open_cases if c not in due and self.by_case.get(c["id"])
                      and business_date(self.by_case[c["id"]][-1].done_at) >= self.today - dt.timedelta(days=3)]
            for c in rng.sample(recent, min(want - len(due), len(recent))):
                k = self.by_case[c["id"]].pop()
                self.contacts.remove(k)
        elif len(due) > want:
            yesterday = self.today - dt.timedelta(days=1)
            today_only = [c for c in due if self._open_next_due(c) == self.today]
            for c in rng.sample(today_only, min(len(due) - want, len(today_only))):
                self._contact(c, self.specialist, yesterday, rng.choice((ContactResult.THINKING,
                                                                         ContactResult.INTERESTED)))

    # --- writing ---

    def write(self) -> None:
        """Contacts, their follow-up tasks, the call log and the cases' state, in bulk (ids reserved first, one
        `executemany` per table: the ORM's bulk_create of ~10,000 rows takes seconds). Rows are inserted as they
        end up — the tasks as `followup_task_create` makes them (rule, due time, next call), then worked; the worked
        cases made by `renewal_cases_generate` are rewritten with their holder, counts and outcome."""
        if not self.contacts:
            return
        rule = followup_rule_get(store=self.store, trigger=Trigger.RENEWAL_DUE)
        n_calls = sum(len(k.calls) for k in self.contacts)
        with connection.cursor() as cursor:
            contact_ids = _reserve_ids(cursor, RenewalContact, len(self.contacts))
            task_ids = _reserve_ids(cursor, FollowupTask, len(self.contacts))
            call_ids = iter(_reserve_ids(cursor, CallLog, n_calls))
        now, cache = timezone.now(), {}
        tasks, calls, contacts = [], [], []
        for k, pk, task_id in zip(self.contacts, contact_ids, task_ids, strict=True):
            final = k.calls[-1]
            event_at = business_day_start(k.due_on)
            tasks.append({
                "id": task_id, "store_id": self.store.pk, "rule_id": rule.pk, "kind": rule.kind,
                "subject_type": SubjectType.RENEWAL_CONTACT, "subject_id": pk, "customer_id": k.case["customer_id"],
                "vehicle_id": k.case["vehicle_id"], "template_id": rule.template_id, "event_at": event_at,
                "due_at": followup_rule_due_at(rule=rule, at=event_at, cache=cache),
                "next_call_at": event_at + dt.timedelta(hours=rule.delay_hours),
                "status": TaskStatus.COMPLETED if final.result in EFFECTIVE_RESULTS else TaskStatus.UNREACHABLE,
                "outcome": _CALL_OUTCOME[final.result], "attempts": len(k.calls), "claimed_by_id": k.handler.pk,
                "claimed_at": k.calls[0].at - dt.timedelta(minutes=self.rng.randint(1, 20)),
                "completed_at": final.at, "completed_by_id": k.handler.pk, "created_at": event_at,
                "updated_at": final.at,
            })
            call_id = None
            for call in k.calls:
                call_id = next(call_ids)
                calls.append({
                    "id": call_id, "store_id": self.store.pk, "task_id": task_id, "customer_id": k.case["customer_id"],
                    "handler_id": k.handler.pk, "direction": CallDirection.OUTBOUND, "called_at": call.at,
                    "duration_s": call.duration, "outcome": _CALL_OUTCOME[call.result],
                    "notes": _NOTES.get(call.result, ""), "created_at": call.at, "updated_at": call.at,
                })
            effective = final.result in EFFECTIVE_RESULTS
            contacts.append({
                "id": pk, "store_id": self.store.pk, "case_id": k.case["id"], "number": k.number, "due_on": k.due_on,
                "task_id": task_id, "call_id": call_id, "channel": ContactChannel.PHONE, "result": final.result,
                "effective": effective, "contacted_at": final.at if effective else None, "handler_id": k.handler.pk,
                "quote_insurer": k.quote[0] if k.quote else "", "quote_premium": k.quote[1] if k.quote else None,
                "quote_discount": k.quote[2] if k.quote else None, "gift_id": k.gift.pk if k.gift else None,
                "gift_cost": k.gift.cost if k.gift else None, "next_step": k.next_step,
                "notes": _NOTES.get(final.result, ""), "created_at": event_at, "updated_at": final.at,
            })
        self.calls_count = len(calls)
        letters = [
            {"store_id": self.store.pk, "task_id": t["id"], "customer_id": t["customer_id"],
             "kind": LetterKind.UNREACHABLE_NOTICE, "channel": LetterChannel.SMS, "status": LetterStatus.SENT,
             "handler_id": t["completed_by_id"], "sent_at": t["completed_at"] + dt.timedelta(minutes=1),
             "text": self.notice_text, "created_at": t["completed_at"], "updated_at": t["completed_at"]}
            for t in tasks if t["status"] == TaskStatus.UNREACHABLE
        ]
        _insert(FollowupTask, tasks, now)
        _insert(CallLog, calls, now)
        _insert(LetterLog, letters, now)  # the unreachable notice `followup_attempt_record` sends
        self._rewrite_cases(now)
        _insert(RenewalContact, contacts, now)
        audit_event_record(
            actor=None, action=AuditAction.CREATE, object_type=FollowupTask._meta.label_lower, store_id=self.store.pk,
            detail={"renewal_contacts": True, "demo": True, "rule": rule.code, "tasks": len(tasks)},
        )

    def _rewrite_cases(self, now: dt.datetime) -> None:
        """The worked cases again, with their holder, counts and outcome (deleted and inserted with their ids)."""
        worked = [c["id"] for c in self.cases if self.by_case.get(c["id"])]
        if not worked:
            return
        fields = [f.attname for f in RenewalCase._meta.concrete_fields]
        rows = []
        for values in RenewalCase.objects.filter(pk__in=worked).order_by("id").values(*fields):
            mine = self.by_case[values["id"]]
            effective = [k for k in mine if k.result in EFFECTIVE_RESULTS]
            values.update(
                holder_id=mine[0].handler.pk, claimed_at=mine[0].calls[0].at - dt.timedelta(minutes=1),
                contacts_made=len(effective), attempts=sum(len(k.calls) for k in mine),
                last_contact_at=effective[-1].done_at if effective else None,
            )
            values.update(self.case_updates.get(values["id"], {}))
            if values["renewed_policy_id"] is not None and values["closed_at"] is None:
                values["closed_at"] = business_day_start(self.renewals[values["renewed_policy_id"]]["start_date"])
            rows.append(values)
        with connection.cursor() as cursor:  # no contacts, reminders or claims yet: nothing to cascade to
            for i in range(0, len(worked), 500):
                chunk = worked[i:i + 500]
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(RenewalCase._meta.db_table)} WHERE id IN "
                               f"({', '.join(['%s'] * len(chunk))})", chunk)
        _insert(RenewalCase, rows, now)


def _insert(model, rows: list[dict], now: dt.datetime) -> None:
    """INSERT `rows` (column attname → value; every other column gets its field's default) with one executemany."""
    if not rows:
        return
    ops, qn = connection.ops, connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if f.attname in rows[0] or not f.primary_key]
    defaults = {}
    for f in fields:
        if f.attname not in rows[0]:
            defaults[f.attname] = now if f.attname in ("created_at", "updated_at") else (
                None if f.null and not f.has_default() else f.get_default()
            )

    sqlite = connection.vendor == "sqlite"

    def adapt(value):
        if isinstance(value, dt.datetime):  # SQLite keeps UTC instants as text (what adapt_datetimefield_value does)
            return str(value.astimezone(dt.UTC).replace(tzinfo=None)) if sqlite else value
        if isinstance(value, dt.date):
            return ops.adapt_datefield_value(value)
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, str):
            return str(value)  # plain str, not a TextChoices member
        return value

    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        qn(model._meta.db_table), ", ".join(qn(f.column) for f in fields), ", ".join(["%s"] * len(fields))
    )
    names = [f.attname for f in fields]
    params = [[adapt(row[n] if n in row else defaults[n]) for n in names] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _backdate(store: Store, now: dt.datetime) -> None:
    """`created_at` of the cases when their list opened; the closing time of lapsed cases when their chase ended;
    the tasks and calls of the history when they happened."""
    store_settings = renewal_settings_map([store.pk])[store.pk]
    ts = connection.ops.adapt_datetimefield_value
    params = []
    for pk, expiry, state, closed_at, outcome_at in RenewalCase.objects.filter(store=store).values_list(
        "id", "expiry_date", "state", "closed_at", "outcome_at"
    ):
        created = min(now, business_day_start(expiry - dt.timedelta(days=store_settings.list_opens_days)))
        if state == CaseState.LAPSED and outcome_at is None:
            closed_at = min(now, business_day_start(expiry + dt.timedelta(days=store_settings.lapse_chase_days + 1)))
        params.append((ts(created), ts(closed_at) if closed_at else None, pk))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {connection.ops.quote_name(RenewalCase._meta.db_table)} SET created_at = %s, closed_at = %s "
            "WHERE id = %s", params,
        )
