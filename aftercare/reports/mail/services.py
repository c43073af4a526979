"""Writes of reports by mail: generate a period's report (once), send it by the schedule (once), send it again (a
user, with a reason, audited), and the job that does the due ones (`manage.py reports_send`).

Never twice: the scheduled send first claims the report (`sent_at` set by a conditional UPDATE that only one run
can win, committed before any e-mail leaves), then sends; a run killed after the claim leaves a report marked sent
whose missing deliveries the archive shows, and only a user's re-send mails it again (Healthchecks' `sendreports`
claims the same way)."""

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from aftercare.core.choices import AuditAction
from aftercare.core.exports import XLSX_CONTENT_TYPE
from aftercare.core.services import audit_event_record
from aftercare.org.calendar import business_date
from aftercare.org.choices import Role
from aftercare.org.models import Department, Store
from aftercare.org.permissions import Perm, has_perm, require_perm

from ..mail_models import Report, ReportDelivery, ReportKind
from . import content as content_mod
from .periods import last_ended_period, period_of
from .render import report_pdf, report_title, report_xlsx

logger = logging.getLogger(__name__)
REASON_MAX = 300


# ---- generate -----------------------------------------------------------------------------------------------------


def _existing(store_id, department_id, kind, period_start):
    return Report.objects.filter(store_id=store_id, department_id=department_id, kind=kind,
                                 period_start=period_start).first()


def report_generate(*, actor=None, store: Store, department: Department | None, kind: str, day: dt.date,
                    today: dt.date | None = None) -> Report:
    """The report of the period of `kind` containing `day`, generated once: an existing row with its files is
    returned as it is (a row without files, left by a killed run, gets them now). The period must have ended."""
    if kind not in ReportKind.values:
        raise ValidationError({"kind": _("Unknown report kind.")})
    if department is not None and department.store_id != store.pk:
        raise ValidationError({"department": _("The department belongs to another store.")})
    start, end = period_of(kind, day)
    if end > (today or business_date()):
        raise ValidationError({"day": _("A report is made once its period has ended.")})
    report = _existing(store.pk, department.pk if department else None, kind, start)
    if report is not None and report.pdf and report.xlsx:
        return report
    if report is None:
        report = Report(store=store, department=department, kind=kind, period_start=start, period_end=end)
        report.full_clean(exclude=["store", "department"])
        try:
            with transaction.atomic():
                report.save()
        except IntegrityError:  # another run inserted it meanwhile
            report = _existing(store.pk, department.pk if department else None, kind, start)
            if report.pdf and report.xlsx:
                return report
    content = content_mod.report_content(store=store, department=department, kind=kind, period_start=start,
                                         period_end=end)
    pdf, xlsx = report_pdf(content), report_xlsx(content)
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.pdf and report.xlsx:  # a concurrent run finished first
            return report
        report.pdf.save("report.pdf", ContentFile(pdf), save=False)
        report.xlsx.save("report.xlsx", ContentFile(xlsx), save=False)
        report.generated_at = timezone.now()
        report.summary = _json_summary(content.summary())
        report.save(update_fields=["pdf", "xlsx", "generated_at", "summary", "updated_at"])
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=report,
                           detail={"kind": kind, "period_start": start.isoformat()})
    return report


def _json_summary(summary: dict) -> dict:
    return {k: (int(v) if v is not None else None) for k, v in summary.items()}


# ---- recipients ---------------------------------------------------------------------------------------------------


def report_recipients(report: Report) -> list:
    """Who receives it, active users with an e-mail address: for a department its designee (complaints) and the
    designees and supervisors of that department working in the store; for the store the store managers."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    base = User.objects.filter(is_active=True, staff__stores=report.store_id).exclude(email="")
    if report.department_id is None:
        qs = base.filter(staff__role=Role.STORE_MANAGER)
    else:
        from aftercare.complaints.models import DepartmentDesignee

        designee = DepartmentDesignee.objects.filter(department_id=report.department_id).values("user_id")
        qs = base.filter(
            Q(pk__in=designee)
            | Q(staff__department_id=report.department_id,
                staff__role__in=[Role.DEPARTMENT_DESIGNEE, Role.SUPERVISOR])
        )
    return list(qs.distinct().order_by("pk"))


# ---- send ---------------------------------------------------------------------------------------------------------


def _claim(report: Report, now: dt.datetime) -> bool:
    """Mark the report sent before sending: of two runs (or a rerun) only one wins it."""
    with transaction.atomic():
        return Report.objects.filter(pk=report.pk, sent_at__isnull=True).update(sent_at=now) == 1


def _mail(report: Report, users, *, now, resent_by=None, reason: str = "") -> list[ReportDelivery]:
    """One e-mail with the PDF and the XLSX to each user; one delivery row each (ok, or the error)."""
    with translation.override(settings.LANGUAGE_CODE):
        content = content_mod.ReportContent(report.store, report.department, report.kind, report.period_start,
                                            report.period_end, now)
        subject = f"{report_title(content)} {report.period_start:%Y-%m-%d} – {report.period_end:%Y-%m-%d}"
        body = _("The report is attached as PDF and XLSX; it is also in the report archive.")
        if reason:
            body += "\n\n" + _("Sent again: %(reason)s") % {"reason": reason}
    name = f"{report.kind}-{report.period_start:%Y%m%d}"
    report.pdf.open("rb")
    pdf = report.pdf.read()
    report.pdf.close()
    report.xlsx.open("rb")
    xlsx = report.xlsx.read()
    report.xlsx.close()
    rows = []
    for user in users:
        ok, error = True, ""
        try:
            message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
            message.attach(f"{name}.pdf", pdf, "application/pdf")
            message.attach(f"{name}.xlsx", xlsx, XLSX_CONTENT_TYPE)
            message.send()
        except Exception as exc:  # recorded on the delivery; the other recipients still get theirs
            logger.exception("report %s to user %s failed", report.pk, user.pk)
            ok, error = False, f"{type(exc).__name__}: {exc}"[:300]
        rows.append(ReportDelivery.objects.create(
            store_id=report.store_id, report=report, recipient=user, email=user.email, sent_at=timezone.now(),
            ok=ok, error=error, resent_by=resent_by, reason=reason,
        ))
    return rows


def report_send(*, report: Report, now: dt.datetime | None = None) -> list[ReportDelivery] | None:
    """The scheduled send: claim, then mail every recipient. None when the report was already claimed (sent) or
    has nobody to go to (it stays unsent; the next run tries again)."""
    now = now or timezone.now()
    users = report_recipients(report)
    if not users or not report.pdf or not report.xlsx:
        return None
    if not _claim(report, now):
        return None
    Report.objects.filter(pk=report.pk).update(
        recipients=[{"user_id": u.pk, "email": u.email} for u in users]
    )
    rows = _mail(report, users, now=now)
    audit_event_record(actor=None, action=AuditAction.EXPORT, obj=report,
                       detail={"sent": len(rows), "failed": sum(1 for r in rows if not r.ok)})
    return rows


def report_resend(*, actor, report: Report, reason: str) -> list[ReportDelivery]:
    """Send a report again, on purpose (`report.send`): a reason is required, each delivery and an audit event
    name the user. Goes to the report's current recipients."""
    require_perm(actor, Perm.REPORT_SEND)
    from .selectors import report_get

    report = report_get(user=actor, pk=report.pk)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": _("Say why the report is sent again.")})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("At most %(n)d characters.") % {"n": REASON_MAX}})
    if not report.pdf or not report.xlsx:
        raise ValidationError({"reason": _("The report has no files yet; generate it first.")})
    users = report_recipients(report)
    if not users:
        raise ValidationError({"reason": _("Nobody with an e-mail address receives this report.")})
    now = timezone.now()
    rows = _mail(report, users, now=now, resent_by=actor, reason=reason)
    with transaction.atomic():
        Report.objects.filter(pk=report.pk, sent_at__isnull=True).update(sent_at=now)
        Report.objects.filter(pk=report.pk).update(recipients=[{"user_id": u.pk, "email": u.email} for u in users])
        audit_event_record(actor=actor, action=AuditAction.EXPORT, obj=report,
                           detail={"resent": len(rows), "failed": sum(1 for r in rows if not r.ok),
                                   "reason": reason})
    return rows


def report_generate_now(*, actor, store_id: int, department_id: int | None, kind: str, day: dt.date) -> Report:
    """A user's "generate now" for a past period of one of their stores (`report.send`); not mailed."""
    from aftercare.org.scoping import own_store_ids

    require_perm(actor, Perm.REPORT_SEND)
    if store_id not in own_store_ids(actor):
        raise PermissionDenied
    store = Store.objects.get(pk=store_id)
    department = None
    if department_id is not None:
        department = Department.objects.filter(pk=department_id, store_id=store_id).first()
        if department is None:
            raise ValidationError({"department": _("Choose a department of the store.")})
    return report_generate(actor=actor, store=store, department=department, kind=kind, day=day)


# ---- the job ------------------------------------------------------------------------------------------------------


def reports_send_due(*, today: dt.date | None = None, store_ids=None, kinds=None) -> dict:
    """Every store's latest ended week and month, for each department and the store manager: generate the report
    if missing, send it if not sent. Rerunnable: a second run (or one after a killed run) sends nothing twice."""
    today = today or business_date()
    counts = {"generated": 0, "sent": 0, "deliveries": 0, "unsent": 0}
    stores = Store.objects.order_by("pk")
    if store_ids is not None:
        stores = stores.filter(pk__in=store_ids)
    for store in stores:
        departments = [None, *Department.objects.filter(store=store).order_by("kind")]
        for kind in kinds or ReportKind.values:
            start, _end = last_ended_period(kind, today)
            sent = set(Report.objects.filter(store=store, kind=kind, period_start=start, sent_at__isnull=False)
                       .values_list("department_id", flat=True))
            for department in departments:
                if (department.pk if department else None) in sent:
                    continue
                before = _existing(store.pk, department.pk if department else None, kind, start)
                report = report_generate(store=store, department=department, kind=kind, day=start, today=today)
                if before is None or not before.pdf:
                    counts["generated"] += 1
                rows = report_send(report=report)
                if rows is None:
                    counts["unsent"] += 1
                else:
                    counts["sent"] += 1
                    counts["deliveries"] += len(rows)
    return counts


def may_resend(user) -> bool:
    return has_perm(user, Perm.REPORT_SEND)

