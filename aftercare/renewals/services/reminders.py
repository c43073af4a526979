"""SMS reminders of renewal cases (`manage.py renewal_reminders_send`, daily): one two months before the expiry and
one in the month of the expiry, each at most once per case (`RenewalReminder` is unique per case and kind), to
customers who accept marketing (`consent_marketing`). Each SMS is queued by the one outbound interface,
`followups.services.outbound.message_send` (purpose `service`: never held by quiet hours nor capped, and sent only
while the customer accepts service calls), a row of the letter log (kind `notice`) — the delivery log.

Idempotent: the reminder and its letter are written in one transaction, the SMS sent after the commit; a rerun
makes no reminder twice and sends the letters a killed run left unsent (`letter_deliver` sends a letter once).
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import formats, translation
from django.utils.translation import gettext

from aftercare.followups.choices import LetterChannel, LetterKind, LetterStatus, MessagePurpose
from aftercare.followups.services.outbound import letter_deliver, message_send
from aftercare.org.calendar import business_date

from ..choices import CaseState, ReminderKind
from ..models import RenewalCase, RenewalReminder

TWO_MONTHS_DAYS = 60
CHUNK = 500
RESEND_DAYS = 3


def reminder_due_window(kind: str, expiry: dt.date) -> tuple[dt.date, dt.date]:
    """The days `[first, last]` (inclusive) a reminder of `kind` may go out for a policy expiring on `expiry`.

    Two months before: from expiry − 60 days until the month of expiry begins (after that only the expiry-month
    one goes, never both at once). In the month of expiry: from its 1st until the expiry day (a reminder after
    the policy ended would say something untrue)."""
    month_start = expiry.replace(day=1)
    if kind == ReminderKind.TWO_MONTHS:
        return expiry - dt.timedelta(days=TWO_MONTHS_DAYS), month_start - dt.timedelta(days=1)
    return month_start, expiry


def _due_cases(kind: str, today: dt.date):
    """Open cases of consenting customers with a mobile whose `kind` reminder is due today and not yet made."""
    if kind == ReminderKind.TWO_MONTHS:
        # expiry − 60 ≤ today < 1st of the expiry month  ⇔  today < expiry ≤ today + 60 and expiry's month is later
        first_of_next = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        window = {"expiry_date__gte": first_of_next, "expiry_date__lte": today + dt.timedelta(days=TWO_MONTHS_DAYS)}
    else:
        month_start = today.replace(day=1)
        window = {"expiry_date__gte": today, "expiry_date__lt": (month_start + dt.timedelta(days=32)).replace(day=1)}
    made = RenewalReminder.objects.filter(case_id=OuterRef("pk"), kind=kind)
    return (
        RenewalCase.objects.filter(
            state=CaseState.OPEN, customer__consent_marketing=True, **window
        )
        .exclude(customer__mobile="")
        .filter(~Exists(made))
        .select_related("store", "vehicle", "customer")
        .order_by("pk")
    )


def reminder_text(case: RenewalCase) -> str:
    """The SMS, in the site's language (Chinese): store name, plate and expiry date, no other personal data."""
    with translation.override(settings.LANGUAGE_CODE):
        return gettext(
            "[%(store)s] Dear customer, the car insurance of your vehicle %(plate)s expires on %(date)s. "
            "Renew with us in time: call or visit the store."
        ) % {
            "store": case.store.name,
            "plate": case.vehicle.plate or gettext("(no plate)"),
            "date": formats.date_format(case.expiry_date, "DATE_FORMAT"),
        }


def _make(kind: str, today: dt.date) -> int:
    """Reminders and their pending letters, a chunk per transaction; returns how many were made."""
    made = 0
    while True:
        with transaction.atomic():
            cases = list(_due_cases(kind, today)[:CHUNK])
            if not cases:
                return made
            RenewalReminder.objects.bulk_create(
                [RenewalReminder(store_id=c.store_id, case=c, kind=kind, sent_on=today) for c in cases],
                ignore_conflicts=True,
            )
            # the rows this run inserted (a concurrent run's are committed with their letters, so never letterless)
            mine = {
                r.case_id: r
                for r in RenewalReminder.objects.select_for_update().filter(
                    case_id__in=[c.pk for c in cases], kind=kind, letter__isnull=True
                )
            }
            by_case = {c.pk: c for c in cases}
            rules_by_store = {}  # each store's sending rules read once a chunk
            for cid, reminder in mine.items():
                case = by_case[cid]
                reminder.letter = message_send(
                    customer=case.customer, store=case.store, purpose=MessagePurpose.SERVICE,
                    channel=LetterChannel.SMS, kind=LetterKind.NOTICE, text=reminder_text(case),
                    rules_by_store=rules_by_store,
                )
            RenewalReminder.objects.bulk_update(list(mine.values()), ["letter"])
            made += len(mine)


def _send_pending(today: dt.date) -> int:
    """Send the reminders' letters still pending: this run's, and those a killed run of the last few days left
    (older ones would arrive too late to be of use: they stay pending in the letter log)."""
    pending = (
        RenewalReminder.objects.filter(letter__status=LetterStatus.PENDING,
                                       sent_on__gte=today - dt.timedelta(days=RESEND_DAYS))
        .order_by("letter_id").values_list("letter_id", flat=True)
    )
    rules_by_store = {}  # each store's rules read once
    return sum(1 for letter_id in list(pending) if letter_deliver(letter_id=letter_id, rules_by_store=rules_by_store))


def renewal_reminders_send(*, today: dt.date | None = None) -> int:
    """Make the reminders due `today` (Asia/Shanghai; default today) and send them. Returns how many reminders
    were made; a rerun makes none twice."""
    today = today or business_date()
    made = sum(_make(kind, today) for kind in (ReminderKind.TWO_MONTHS, ReminderKind.EXPIRY_MONTH))
    _send_pending(today)
    return made
