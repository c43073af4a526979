"""The demo group's dealer evaluation (docs/quality.md, "Dealer evaluation"), made through the real services
(`quality.services.evaluations`): the quality engineer's active evaluation form (the sections of seed 004's
after-sales plan), last month's submitted visit of every store by the itinerant service engineer, and this month's
visit of the first store with its corrective actions — one overdue, one open, one reported done and awaiting the
evaluator's check, one verified. Dates are relative to today; scores come from the seed, so reruns match."""

from __future__ import annotations

import datetime as dt
import random

from aftercare.org.calendar import business_date
from aftercare.org.choices import Role
from aftercare.org.models import Staff, Store
from aftercare.quality.evaluation_models import StoreVisit
from aftercare.quality.services.evaluations import (
    corrective_action_create,
    corrective_action_done,
    corrective_action_verify,
    evaluation_form_activate,
    evaluation_form_create,
    store_visit_score,
    store_visit_start,
    store_visit_submit,
)

# (section, item (Chinese), item (English), maximum score)
ITEMS = (
    ("接待", "预约客户到店有专人接待，十分钟内开具工单", "Appointment customers met, order opened within 10 min", 10),
    ("接待", "环车检查并与客户确认维修项目和报价", "Walk-around check; work and price agreed with the customer", 10),
    ("维修", "工单填写完整，客户签字确认", "Repair orders complete and signed by the customer", 10),
    ("维修", "一次修复：返修车辆由车间主管复检", "First-time fix: returns re-checked by the workshop lead", 15),
    ("配件", "重要零部件故障件按规定保存、标识和返厂", "Failed important parts kept, labelled and returned", 10),
    ("配件", "配件库存与订单准确，缺件及时上报", "Parts stock and orders accurate; shortages reported", 10),
    ("回访", "三日内完成维修回访，不满意及时转投诉", "Follow-up within 3 days; dissatisfaction handed over", 15),
    ("设施", "客户休息区、洗车及车间 5S 符合标准", "Lounge, wash bay and workshop 5S to standard", 10),
    ("培训", "技术和服务人员按计划参加厂家培训", "Technicians and advisors trained as planned", 10),
)
# this month's visit of the first store: (item position, finding, action, owner suffix, days from today, end state)
ACTIONS = (
    (3, "抽查 10 张工单，3 张缺客户签字", "服务顾问培训工单签字流程，店总每周抽查 5 张", "advisor", -4, "open"),
    (5, "前减震器故障件未单独存放、无标签", "设立故障件专区，按件挂返厂标签", "parts", 10, "open"),
    (8, "客户休息区饮水机损坏一周未修", "当日报修，建立设施日检表", "manager", -2, "done"),
    (7, "回访不满意记录未在 24 小时内转投诉", "客服经理每日核对不满意回访", "csm", -1, "verified"),
)


def demo_evaluations_exist(stores: list[Store]) -> bool:
    return StoreVisit.objects.filter(store__in=stores).exists()


def _user(store: Store | None, suffix: str | None = None, role: str | None = None, group_id: int | None = None):
    qs = Staff.objects.select_related("user")
    if group_id is not None:
        qs = qs.filter(group_id=group_id)
    if store is not None:
        qs = qs.filter(stores=store)
    if role is not None:
        qs = qs.filter(role=role)
    if suffix is not None:
        qs = qs.filter(user__username__endswith=f"_{suffix}")
    staff = qs.order_by("pk").first()
    return staff.user if staff else None


def demo_evaluations_create(*, stores: list[Store], seed: int) -> dict[str, int]:
    """The form, one submitted visit per store last month, and this month's visit of the first store with actions."""
    if not stores:
        return {"store_visits": 0, "corrective_actions": 0}
    group_id = stores[0].group_id
    engineer = _user(None, role=Role.QUALITY_ENGINEER, group_id=group_id)
    evaluator = _user(None, role=Role.ITINERANT_SERVICE, group_id=group_id)
    if engineer is None or evaluator is None:
        return {"store_visits": 0, "corrective_actions": 0}
    rng = random.Random(seed * 31 + 20)
    form = evaluation_form_create(
        actor=engineer, code="SVC-EVAL", name_zh="经销商售后服务评估", name_en="Dealer after-sales evaluation",
        items=[{"section_zh": s, "text_zh": zh, "text_en": en, "max_score": m} for s, zh, en, m in ITEMS])
    evaluation_form_activate(actor=engineer, form=form)
    items = list(form.items.order_by("position"))
    today = business_date()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=10)
    visits = actions = 0
    for n, store in enumerate(stores):
        visit = store_visit_start(actor=evaluator, store_id=store.pk, visited_on=last_month + dt.timedelta(days=n),
                                  form=form)
        for item in items:
            # stores differ: the first loses most points (its findings follow this month)
            lost = rng.randint(0, max(1, item.max_score // (3 if n == 0 else 5)))
            store_visit_score(actor=evaluator, visit=visit, item_id=item.pk, score=item.max_score - lost)
        store_visit_submit(actor=evaluator, visit=visit, summary="季度例行走访")
        visits += 1
    store = stores[0]
    visit = store_visit_start(actor=evaluator, store_id=store.pk, visited_on=today - dt.timedelta(days=12), form=form)
    for item in items:
        store_visit_score(actor=evaluator, visit=visit, item_id=item.pk,
                          score=item.max_score - (item.max_score // 3 if item.position in (3, 5, 7, 8) else 0))
    store_visit_submit(actor=evaluator, visit=visit, summary="复查：工单签字、故障件管理、休息区设施和回访转投诉需整改")
    visits += 1
    manager = _user(store, role=Role.STORE_MANAGER)
    for position, finding, text, owner_suffix, days, state in ACTIONS:
        owner = _user(store, suffix=owner_suffix) or manager
        action = corrective_action_create(
            actor=evaluator, visit=visit, item_id=items[position - 1].pk, finding=finding, action=text,
            owner_id=owner.pk, due_on=max(visit.visited_on, today + dt.timedelta(days=days)))
        if state in ("done", "verified"):
            corrective_action_done(actor=owner, action=action, note="已按要求整改，附照片存档")
        if state == "verified":
            corrective_action_verify(actor=evaluator, action=action, accepted=True, note="现场复查合格")
        actions += 1
    return {"store_visits": visits, "corrective_actions": actions}
