"""Scoped reads of the care app: every selector takes the acting user and reads only the stores they may see."""


# ---- channels: the delivery log and the message templates ----
import datetime as dt  # noqa: E402

from django.db.models import Q, QuerySet  # noqa: E402
from django.http import Http404  # noqa: E402

from aftercare.core.text import clean_text  # noqa: E402
from aftercare.followups.choices import MESSAGE_CHANNELS  # noqa: E402
from aftercare.followups.models import LetterLog, MessageTemplate  # noqa: E402
from aftercare.org.calendar import business_day_start  # noqa: E402
from aftercare.org.models import Store  # noqa: E402
from aftercare.org.permissions import Perm, has_perm  # noqa: E402
from aftercare.org.scoping import visible_store_ids  # noqa: E402


def _channel_store_ids(user, store_ids=None) -> frozenset[int]:
    if not (has_perm(user, Perm.CARE_WORK) or has_perm(user, Perm.CARE_MANAGE)):
        return frozenset()
    visible = visible_store_ids(user)
    return visible if store_ids is None else visible & frozenset(store_ids)


def message_log_search(
    *, user, store_ids=None, q: str = "", phone_tail: str = "", status: str = "", channel: str = "",
    purpose: str = "", since: dt.date | None = None, until: dt.date | None = None, customer_id: int | None = None,
) -> QuerySet[LetterLog]:
    """The delivery log: every SMS, e-mail and WeChat message of the stores in scope (the letter log's rows sent
    through a channel), newest first; recorded in `[since, until)`; `q` a customer's name or number."""
    qs = LetterLog.objects.filter(store_id__in=_channel_store_ids(user, store_ids), channel__in=MESSAGE_CHANNELS)
    q = clean_text(q or "").strip()
    if q:
        qs = qs.filter(Q(customer__name__icontains=q) | Q(customer__number__iexact=q))
    digits = "".join(ch for ch in phone_tail or "" if ch.isdigit())
    if digits:
        qs = qs.filter(customer__mobile__endswith=digits[-11:])
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    if purpose:
        qs = qs.filter(purpose=purpose)
    if since:
        qs = qs.filter(created_at__gte=business_day_start(since))
    if until:
        qs = qs.filter(created_at__lt=business_day_start(until))
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    return qs.select_related("store", "customer").order_by("-created_at", "-id")


def message_template_list(*, user) -> QuerySet[MessageTemplate]:
    """The templates of the user's group: the group's and those of the stores the user sees."""
    ids = _channel_store_ids(user)
    groups = Store.objects.filter(pk__in=ids).values("group_id")
    return (
        MessageTemplate.objects.filter(group_id__in=groups)
        .filter(Q(store__isnull=True) | Q(store_id__in=ids))
        .select_related("store")
        .order_by("code", "channel", "store_id", "id")
    )


def message_template_get(*, user, pk: int) -> MessageTemplate:
    """One template in scope; another group's or another store's is a 404."""
    template = message_template_list(user=user).filter(pk=pk).first()
    if template is None:
        raise Http404
    return template
# ---- end channels ----
