"""Recalls and service campaigns from the carmaker's VIN list (issue 18, "Campaigns"): the list (XLSX or CSV, read
with the DMS import's bounded readers `aftercare/dms/readers.py`) gives each VIN of the store's vehicles a call task
of the store's RECALL rule; unknown or malformed VINs are reported with their row. A vehicle is done when a repair
order of it settles on or after the recall's start, or the call marks it done; unreachable when its call task ended
unreachable (after the rule's attempts). The recall is complete when no vehicle is open."""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.models import Ownership, RepairOrder, Vehicle
from aftercare.customers.validators import clean_text, normalize_vin
from aftercare.followups.choices import SubjectType, TaskStatus, Trigger
from aftercare.followups.services.generation import TaskSubject, followup_task_create
from aftercare.followups.services.rules import followup_rule_get
from aftercare.org.calendar import business_date, business_day_start
from aftercare.org.models import Store
from aftercare.org.scoping import own_store_ids

from ..choices import RecallVehicleState
from ..models import Recall, RecallVehicle

ALIASES = {"vin": ("VIN", "VIN码", "车架号", "底盘号", "车辆识别代号"), "model": ("车型", "Model"),
           "code": ("召回编号", "活动编号", "Recall code"), "title": ("召回名称", "活动名称", "Title")}
MAX_ROWS = 50_000


@dataclass
class RecallImportReport:
    recall: Recall | None = None
    rows: int = 0
    matched: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)  # (row, message)


def _read_vins(upload) -> tuple[list[tuple[int, str]], list[tuple[int, str]], int]:
    """[(row, VIN)] of the well-formed rows, [(row, problem)] of the others, and the number of rows."""
    from aftercare.dms.readers import ImportFileError, local_path, open_table

    good, bad, rows = [], [], 0
    try:
        with local_path(upload) as path, open_table(path, ALIASES) as table:
            if "vin" not in table.mapping:
                raise ValidationError({"file": [gettext("The list has no VIN column (VIN / 车架号).")]})
            index = table.mapping["vin"]
            for number, cells in table.rows:
                raw = cells[index] if index < len(cells) else None
                if raw in (None, "") and not any(c not in (None, "") for c in cells):
                    continue  # an empty line
                rows += 1
                if rows > MAX_ROWS:
                    raise ValidationError({"file": [gettext("The list has more than %(n)s rows.") % {"n": MAX_ROWS}]})
                try:
                    good.append((number, normalize_vin(clean_text(str(raw or "")))))
                except ValidationError as exc:
                    bad.append((number, exc.messages[0] if raw else gettext("No VIN in this row.")))
    except ImportFileError as exc:
        raise ValidationError({"file": [str(exc)]}) from None
    return good, bad, rows


def recall_import(*, actor, store_id: int, code: str, title: str, started_on, upload) -> RecallImportReport:
    """A recall of store `store_id` (the actor's own) from its VIN list: every VIN of a vehicle the store has gets a
    RecallVehicle and a call task (trigger RECALL, due from the start); the other rows are reported by row number.
    Importing the same code again adds only the vehicles not yet in it. One transaction, audited."""
    if store_id not in own_store_ids(actor):
        raise PermissionDenied
    good, bad, rows = _read_vins(upload)
    report = RecallImportReport(rows=rows, problems=list(bad))
    vins = {vin for _n, vin in good}
    vehicles = {v.vin: v for v in Vehicle.objects.filter(store_id=store_id, vin__in=vins)}
    owners = dict(Ownership.objects.filter(store_id=store_id, vehicle__vin__in=vins, valid_to__isnull=True)
                  .values_list("vehicle_id", "customer_id"))
    seen: set[str] = set()
    wanted: list[tuple[int, Vehicle]] = []
    for number, vin in good:
        if vin in seen:
            report.problems.append((number, gettext("VIN %(vin)s is listed twice.") % {"vin": vin}))
            continue
        seen.add(vin)
        vehicle = vehicles.get(vin)
        if vehicle is None:
            report.problems.append((number, gettext("No vehicle of this store has the VIN %(vin)s.") % {"vin": vin}))
        else:
            wanted.append((number, vehicle))
    report.problems.sort()
    store = Store.objects.get(pk=store_id)
    with transaction.atomic():
        recall, created = Recall.objects.get_or_create(
            store_id=store_id, code=clean_text(code)[:50],
            defaults={"title": clean_text(title)[:200], "started_on": started_on, "created_by": actor},
        )
        if created:
            recall.full_clean()
        RecallVehicle.objects.bulk_create([
            RecallVehicle(store_id=store_id, recall=recall, vehicle=v, customer_id=owners.get(v.pk), row_number=n)
            for n, v in wanted
        ], ignore_conflicts=True)
        fresh = list(RecallVehicle.objects.filter(recall=recall, task__isnull=True, customer__isnull=False))
        rule = followup_rule_get(store=store, trigger=Trigger.RECALL)
        start = business_day_start(max(recall.started_on, business_date()))
        tasks = followup_task_create(actor=actor, rule=rule, subjects=[
            TaskSubject(SubjectType.RECALL_VEHICLE, rv.pk, rv.customer_id, rv.vehicle_id, start) for rv in fresh
        ], detail={"recall": recall.pk})
        task_of = {t.subject_id: t.pk for t in tasks}
        for rv in fresh:
            rv.task_id = task_of.get(rv.pk)
        RecallVehicle.objects.bulk_update([rv for rv in fresh if rv.task_id], ["task"])
        audit_event_record(actor=actor, action=AuditAction.IMPORT, obj=recall,
                           detail={"rows": rows, "matched": len(wanted), "problems": len(report.problems)})
    report.recall = recall
    report.matched = len(wanted)
    return report


def recall_progress_update(*, recall: Recall | None = None) -> int:
    """Mark open vehicles done (a repair order of the vehicle settled on or after the recall's start; done_at is
    the first such order's time) or unreachable (the call task ended unreachable). Set-based: two UPDATEs per
    recall (one recall: two statements), idempotent; returns how many changed."""
    recalls = [recall] if recall is not None else list(
        Recall.objects.filter(pk__in=RecallVehicle.objects.filter(state=RecallVehicleState.OPEN).values("recall_id")))
    changed = 0
    now = timezone.now()
    for r in recalls:
        after = RepairOrder.objects.filter(vehicle_id=OuterRef("vehicle_id"),
                                           settled_at__gte=business_day_start(r.started_on))
        open_ = RecallVehicle.objects.filter(recall=r, state=RecallVehicleState.OPEN)
        changed += open_.filter(Exists(after)).update(
            state=RecallVehicleState.DONE, updated_at=now,
            done_at=Subquery(after.order_by("settled_at").values("settled_at")[:1]))
        changed += open_.filter(task__status=TaskStatus.UNREACHABLE).update(state=RecallVehicleState.UNREACHABLE,
                                                                           updated_at=now)
    return changed


def recall_vehicle_mark_done(*, actor, recall_vehicle: RecallVehicle) -> RecallVehicle:
    """The call says the work is done (e.g. at another dealer)."""
    if recall_vehicle.state == RecallVehicleState.DONE:
        return recall_vehicle
    with transaction.atomic():
        recall_vehicle.state = RecallVehicleState.DONE
        recall_vehicle.done_at = timezone.now()
        recall_vehicle.done_by_call = True
        recall_vehicle.save(update_fields=["state", "done_at", "done_by_call", "updated_at"])
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=recall_vehicle, changed_fields=["state"])
    return recall_vehicle


def recall_completion_rate(recall) -> float | None:
    """Done ÷ vehicles of a recall annotated by `recall_list` (None without vehicles)."""
    if not getattr(recall, "total", 0):
        return None
    return recall.done / recall.total

