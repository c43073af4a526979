"""The parts-quality cards of the start page (`aftercare/org/start.py`), registered in `QualityConfig.ready()`.

Each number links to the list of exactly its rows: the drafts to complete (`/quality/reports/?status=draft`), the
reports submitted this month (of the stores in scope; the engineer's: the group's), the open alarms."""

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from aftercare.org.calendar import business_date
from aftercare.org.choices import Role
from aftercare.org.permissions import Perm, has_perm
from aftercare.org.start import CardData, CardRow, StartCard, register_card

from . import selectors, selectors_evaluations
from .choices import OPEN_ALARM_STATUSES, ReportStatus


def quality_reports(*, user, store_ids, now) -> CardData:
    """Drafts to complete (a product-quality complaint handed over) and all reports of the stores."""
    ids = selectors.quality_store_ids(user) if has_perm(user, Perm.QUALITY_GROUP) else store_ids
    qs = selectors.quality_report_list(user=user, store_ids=ids)
    n = qs.aggregate(drafts=Count("pk", filter=Q(status=ReportStatus.DRAFT)), total=Count("pk"))
    url = reverse("quality:reports")
    return CardData(
        rows=(
            CardRow(_("Draft reports to complete"), n["drafts"], f"{url}?status=draft", "warning"),
            CardRow(_("Parts-quality reports"), n["total"], url, ""),
        )
    )


def quality_alarms(*, user, store_ids, now) -> CardData:
    """The group's batch-defect alarms not yet confirmed or dismissed."""
    n = selectors.quality_alarm_list(user=user).aggregate(
        new=Count("pk", filter=Q(status=OPEN_ALARM_STATUSES[0])),
        open=Count("pk", filter=Q(status__in=OPEN_ALARM_STATUSES)),
    )
    url = reverse("quality:alarms")
    return CardData(
        rows=(
            CardRow(_("New batch-defect alarms"), n["new"], f"{url}?status=new", "danger"),
            CardRow(_("Open batch-defect alarms"), n["open"], f"{url}?status=open", "warning"),
        )
    )


def corrective_actions(*, user, store_ids, now) -> CardData:
    """The dealer-evaluation actions of the stores: open, overdue, and (the evaluator) reported done, to verify."""
    ids = selectors.quality_store_ids(user) if has_perm(user, Perm.QUALITY_GROUP) else store_ids
    n = selectors_evaluations.corrective_action_counts(user=user, store_ids=ids, today=business_date(now))
    url = reverse("quality:actions")
    overdue = selectors_evaluations.OVERDUE
    rows = [
        CardRow(_("Overdue corrective actions"), n["overdue"], f"{url}?status={overdue}", "danger"),
        CardRow(_("Open corrective actions"), n["open"], f"{url}?status=open", "warning"),
    ]
    if has_perm(user, Perm.QUALITY_EVALUATE):
        rows.append(CardRow(_("Actions to verify"), n["done"], f"{url}?status=done", "info"))
    return CardData(rows=tuple(rows))


def register() -> None:
    # the quality roles' cards (the store roles find the reports in the menu; their start pages stay as they were)
    register_card(
        StartCard(
            key="quality.reports",
            title=_("Parts quality"),
            data=quality_reports,
            order=60,
            permission=Perm.QUALITY_VIEW,
            roles=(Role.QUALITY_ENGINEER, Role.ITINERANT_SERVICE),
        )
    )
    register_card(
        StartCard(
            key="quality.alarms",
            title=_("Batch-defect alarms"),
            data=quality_alarms,
            order=8,
            permission=Perm.QUALITY_GROUP,
            roles=(Role.QUALITY_ENGINEER,),
        )
    )
    # the store's managers own what a visit found; itinerant service staff verify it
    register_card(
        StartCard(
            key="quality.actions",
            title=_("Dealer evaluation: corrective actions"),
            data=corrective_actions,
            order=62,
            permission=Perm.QUALITY_VIEW,
            roles=(Role.STORE_MANAGER, Role.CS_MANAGER, Role.ITINERANT_SERVICE),
        )
    )
