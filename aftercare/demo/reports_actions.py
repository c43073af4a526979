"""The demo group's action register (docs/reports.md, "Action register"): per store, the rectification actions a
CS manager would have on file, made through the real services (`reports.services.actions`): the weakest SSI factors
of seed 000 p3 (交易条件, 经销商设施), a complaint category and a weekly meeting — one verified effective, one done
and awaiting verification, one open and overdue, one open. Dates are relative to today."""

from __future__ import annotations

import datetime as dt

from aftercare.org.calendar import business_date
from aftercare.org.choices import Role
from aftercare.org.models import Staff, Store
from aftercare.reports.models import RectificationAction
from aftercare.reports.services.actions import action_complete, action_create, action_verify

# (title, source, source detail, owner's username suffix, days from today to the due date, end state)
ACTIONS = (
    ("交易条件：报价单逐项讲解并由客户签字确认", "ssi_factor", "交易条件", "sales", -20, "verified"),
    ("经销商设施：客户休息区增加充电位和饮品", "ssi_factor", "经销商设施", "mech", 10, "done"),
    ("维修质量投诉：返修车辆交车前由车间主管复检", "complaint_category", "维修质量", "mech", -3, "open"),
    ("周例会：首次回访话术培训，专员抽检录音", "weekly_meeting", "客服周例会", "csm", 14, "open"),
)


def demo_actions_exist(stores: list[Store]) -> bool:
    return RectificationAction.objects.filter(store__in=stores).exists()


def demo_actions_create(*, stores: list[Store], seed: int) -> dict[str, int]:
    """Four actions per store, made and moved on as their users would (the CS manager creates and verifies)."""
    today = business_date()
    made = 0
    for store in stores:
        staff = {s.user.username.rsplit("_", 1)[-1]: s.user
                 for s in Staff.objects.filter(stores=store).select_related("user")}
        manager = Staff.objects.filter(stores=store, role=Role.CS_MANAGER).select_related("user").first()
        if manager is None:
            continue
        for title, source, detail, owner, days, state in ACTIONS:
            owner_user = staff.get(owner, manager.user)
            action = action_create(actor=manager.user, store_id=store.pk, title=title, source=source,
                                   source_detail=detail, owner=owner_user, due_date=today + dt.timedelta(days=days))
            if state in ("done", "verified"):
                action_complete(actor=owner_user, action_id=action.pk, note="已按要求落实")
            if state == "verified":
                action_verify(actor=manager.user, action_id=action.pk, effective=True, note="抽查三次，均已执行")
            made += 1
    return {"rectification_actions": made}
