"""Reads of dealer evaluation (docs/quality.md, "Dealer evaluation"), scoped to the acting user.

Forms belong to the dealer group: every user of the group with `quality.view` reads them. Visits and corrective
actions are store-owned: a user reads those of the stores whose parts quality they see (`quality_store_ids`: the
engineer the group's, itinerant service staff the stores they visit, a store's managers their store); the owner of an
action reads it in any case, whatever their role."""

import datetime as dt

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from aftercare.org.permissions import Perm, has_perm
from aftercare.org.scoping import get_scoped_or_404, visible_store_ids

from .choices import ActionStatus, EvaluationFormStatus, VisitStatus
from .evaluation_models import CorrectiveAction, EvaluationForm, EvaluationItem, StoreVisit, VisitPhoto
from .selectors import quality_store_ids

OVERDUE = "overdue"  # open and due before today: a filter beside the statuses
ACTION_FILTERS = (OVERDUE, *ActionStatus.values)


def overdue_q(today: dt.date) -> Q:
    """Open and due before `today` (`CorrectiveAction.is_overdue` on one row)."""
    return Q(status=ActionStatus.OPEN, due_on__lt=today)


def action_filter_choices() -> list[tuple[str, str]]:
    """The action list's filters: all, the statuses, and overdue after open."""
    choices = [("", _("All"))]
    for value, label in ActionStatus.choices:
        choices.append((value, label))
        if value == ActionStatus.OPEN:
            choices.append((OVERDUE, _("Overdue")))
    return choices


def evaluation_form_list(*, user) -> QuerySet[EvaluationForm]:
    """The group's forms, each code's newest version first, with their items."""
    staff = getattr(user, "staff", None)
    if staff is None or not has_perm(user, Perm.QUALITY_VIEW):
        return EvaluationForm.objects.none()
    return (EvaluationForm.objects.filter(group_id=staff.group_id)
            .prefetch_related(Prefetch("items", queryset=EvaluationItem.objects.order_by("position"))))


def evaluation_form_active(*, user) -> list[EvaluationForm]:
    return list(evaluation_form_list(user=user).filter(status=EvaluationFormStatus.ACTIVE))


def store_visit_list(*, user, request=None) -> QuerySet[StoreVisit]:
    """The visits of the stores in scope, newest first."""
    return (StoreVisit.objects.filter(store_id__in=quality_store_ids(user, request))
            .select_related("store", "form", "evaluator__staff")
            .annotate(open_actions=Count("actions", filter=~Q(actions__status=ActionStatus.VERIFIED)))
            .order_by("-visited_on", "-id"))


def store_visit_get(*, user, visit_id: int) -> StoreVisit:
    """One visit of the stores in scope, else 404."""
    return get_scoped_or_404(
        StoreVisit.objects.filter(store_id__in=quality_store_ids(user)).select_related("store", "form",
                                                                                        "evaluator__staff"),
        pk=visit_id)


def visit_photo_get(*, user, photo_id: int) -> VisitPhoto:
    return get_scoped_or_404(VisitPhoto.objects.filter(visit__store_id__in=quality_store_ids(user)), pk=photo_id)


def _action_scope(user) -> Q:
    return Q(store_id__in=quality_store_ids(user)) | Q(owner_id=user.pk, store_id__in=visible_store_ids(user))


def corrective_action_list(*, user, status: str = "", today: dt.date | None = None) -> QuerySet[CorrectiveAction]:
    """The actions in scope, soonest due first; `status`: open, overdue (open and due before `today`), done (to
    verify) or verified."""
    qs = (CorrectiveAction.objects.filter(_action_scope(user))
          .select_related("store", "visit", "item", "owner__staff").order_by("due_on", "id"))
    if status == OVERDUE:
        qs = qs.filter(overdue_q(today))
    elif status in ActionStatus.values:
        qs = qs.filter(status=status)
    return qs


def corrective_action_get(*, user, action_id: int) -> CorrectiveAction:
    return get_scoped_or_404(corrective_action_list(user=user), pk=action_id)


def corrective_action_counts(*, user, store_ids, today: dt.date) -> dict[str, int]:
    """Open, overdue and to-verify actions of `store_ids` in scope: one query (the start card)."""
    return CorrectiveAction.objects.filter(_action_scope(user), store_id__in=store_ids).aggregate(
        open=Count("pk", filter=Q(status=ActionStatus.OPEN)),
        overdue=Count("pk", filter=overdue_q(today)),
        done=Count("pk", filter=Q(status=ActionStatus.DONE)),
    )


def evaluation_scores(*, store_ids, since: dt.date, until: dt.date) -> dict[int, tuple]:
    """{store id: (sum of scores, visits)} of the visits submitted with a visit date in `[since, until)`."""
    rows = (StoreVisit.objects.filter(store_id__in=store_ids, status=VisitStatus.SUBMITTED,
                                      visited_on__gte=since, visited_on__lt=until)
            .values("store_id").annotate(total=Sum("score"), n=Count("pk")))
    return {r["store_id"]: (r["total"], r["n"]) for r in rows}
