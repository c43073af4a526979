"""Hand-built rows for the tests of reports by mail: store A on Monday 2 March 2026 (Shanghai), last week
23 Feb – 1 Mar, last month February; a mechanical department with its designee, a sales department without one."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from aftercare.complaints.models import DepartmentDesignee, Feedback
from aftercare.followups.models import AnswerSheet, FollowupTask, QuestionnaireTemplate
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.choices import DepartmentKind, Role
from aftercare.org.models import Staff
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 8, 30, tzinfo=SH)  # Monday
WEEK = (dt.date(2026, 2, 23), dt.date(2026, 3, 2))
MONTH = (dt.date(2026, 2, 1), dt.date(2026, 3, 1))


def sh(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def form(store, department, created, *, customer_name="王投诉", **kw) -> Feedback:
    creator = Staff.objects.filter(stores=store).first().user
    fb = Feedback.objects.create(store=store, kind=kw.pop("kind", "complaint"), source="walk_in",
                                 category=kw.pop("category", "mechanical"), department=department,
                                 customer=f.CustomerFactory(store=store, name=customer_name), text="发动机异响",
                                 created_by=creator, **kw)
    Feedback.objects.filter(pk=fb.pk).update(created_at=created)
    return fb


def task(store, rule, subject_type, subject_id, customer, *, closed, status="completed", kind=None) -> FollowupTask:
    return FollowupTask.objects.create(
        store=store, rule=rule, kind=kind or rule.kind, subject_type=subject_type, subject_id=subject_id,
        customer=customer, event_at=closed - dt.timedelta(days=2), due_at=closed + dt.timedelta(days=2),
        status=status, completed_at=closed, outcome="completed" if status == "completed" else "",
    )


def build(store, users) -> dict:
    mech = f.DepartmentFactory(store=store, kind=DepartmentKind.SERVICE_MECHANICAL, name="机修部")
    sales = f.DepartmentFactory(store=store, kind=DepartmentKind.SALES, name="销售部")
    designee = users[Role.DEPARTMENT_DESIGNEE]
    Staff.objects.filter(user=designee).update(department=mech)
    DepartmentDesignee.objects.create(store=store, department=mech, user=designee)
    # complaint forms: three of the mechanical department last week (in time, overdue, late), one of sales, one of
    # the mechanical department earlier in February, one this week
    in_time = form(store, mech, sh(2026, 2, 24, 10), status="handled", deadline_at=sh(2026, 2, 27),
                   first_returned_at=sh(2026, 2, 26), first_returned_in_time=True, returned_at=sh(2026, 2, 26),
                   returned_in_time=True, customer_name="李准时")
    overdue = form(store, mech, sh(2026, 2, 25, 10), status="routed", deadline_at=sh(2026, 2, 28),
                   customer_name="赵超期")
    late = form(store, mech, sh(2026, 2, 26, 10), status="handled", deadline_at=sh(2026, 2, 27),
                first_returned_at=sh(2026, 2, 28), first_returned_in_time=False, customer_name="钱迟到")
    sale = form(store, sales, sh(2026, 2, 24, 11), category="sales", customer_name="孙销售")
    early = form(store, mech, sh(2026, 2, 10, 10), customer_name="周二月")
    form(store, mech, sh(2026, 3, 2, 8), customer_name="吴三月")  # this week: in no report
    # follow-up calls closed last week: a mechanical repair's CSI (dissatisfied), a body repair's CSI, a sale's SSI
    rules = {r.code: r for r in followup_rules_seed_defaults(store)}
    csi, ssi = next(r for r in rules.values() if r.kind == "csi"), next(r for r in rules.values() if r.kind == "ssi")
    customer = f.CustomerFactory(store=store, name="郑不满")
    vehicle = f.owned_vehicle(customer)
    ro_mech = f.RepairOrderFactory(store=store, customer=customer, vehicle=vehicle, kind="mechanical")
    ro_body = f.RepairOrderFactory(store=store, customer=customer, vehicle=vehicle, kind="body")
    delivery = f.SalesDeliveryFactory(store=store, customer=customer, vehicle=vehicle)
    t_mech = task(store, csi, "repair_order", ro_mech.pk, customer, closed=sh(2026, 2, 25, 15))
    task(store, csi, "repair_order", ro_body.pk, customer, closed=sh(2026, 2, 25, 16))
    task(store, ssi, "delivery", delivery.pk, customer, closed=sh(2026, 2, 26, 9), status="unreachable")
    template = QuestionnaireTemplate.objects.filter(kind="csi").first() or QuestionnaireTemplate.objects.first()
    sheet = AnswerSheet.objects.create(store=store, task=t_mech, template=template, answered_by=designee,
                                       answered_at=sh(2026, 2, 25, 15), score_total=Decimal("612.5"),
                                       dissatisfied=True, dissatisfied_reasons=["Q3"], notes="等待时间太长")
    return {"mech": mech, "sales": sales, "designee": designee, "in_time": in_time, "overdue": overdue,
            "late": late, "sale": sale, "early": early, "sheet": sheet}
