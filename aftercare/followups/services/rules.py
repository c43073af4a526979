"""Writes for a store's follow-up settings and rules: the default rules, rule edits, a rule's deadline."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import translation

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.choices import RepairKind
from aftercare.org.calendar import business_date, business_day_start, working_deadline
from aftercare.org.choices import Role
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..choices import DeadlineUnit, FollowupKind, QuestionnaireStatus, Trigger
from ..models import DEFAULT_RULE_NAMES, FollowupRule, QuestionnaireTemplate, StoreFollowupSettings
from ..selectors import store_followup_settings_get
from .questionnaires import questionnaire_templates_ensure_shipped


def store_followup_settings_update(*, actor, store: Store, **fields) -> StoreFollowupSettings:
    """Change a store's follow-up settings (max attempts, repair deadline unit, rate treatment)."""
    require_perm(actor, Perm.FOLLOWUP_RULES)
    if store.pk not in own_store_ids(actor):
        raise PermissionDenied
    allowed = {"max_attempts", "repair_deadline_unit", "unreachable_counts_as", "refused_counts_as"}
    if set(fields) - allowed:
        raise TypeError(f"unknown settings fields: {sorted(set(fields) - allowed)}")
    with transaction.atomic():
        row, _created = StoreFollowupSettings.objects.get_or_create(store=store)
        for key, value in fields.items():
            setattr(row, key, value)
        row.full_clean()
        row.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=row, store_id=store.pk, changed_fields=fields)
    return row


DEFAULT_RULES = (
    {
        "code": "SSI",
        "name": DEFAULT_RULE_NAMES["SSI"],
        "trigger": Trigger.DELIVERY,
        "kind": FollowupKind.SSI,
        "deadline_amount": 24,
        "deadline_unit": DeadlineUnit.HOURS,
        "template_code": "SSI-NEW-CAR",
        "is_active": True,
    },
    {
        "code": "CSI",
        "name": DEFAULT_RULE_NAMES["CSI"],
        "trigger": Trigger.REPAIR_ORDER,
        "kind": FollowupKind.CSI,
        "deadline_amount": 3,
        "deadline_unit": DeadlineUnit.STORE_DAYS,
        "template_code": "CSI-AFTER-SALES",
        "is_active": True,
    },
    {
        "code": "TRACK1",
        "name": DEFAULT_RULE_NAMES["TRACK1"],
        "trigger": Trigger.REPAIR_ORDER,
        "kind": FollowupKind.TRACKING,
        "delay_hours": 72,
        "deadline_amount": 7,
        "deadline_unit": DeadlineUnit.CALENDAR_DAYS,
        "template_code": None,
        "is_active": False,
        "is_carmaker_variant": True,
    },
    {
        "code": "TRACK2",
        "name": DEFAULT_RULE_NAMES["TRACK2"],
        "trigger": Trigger.FOLLOWUP_COMPLETED,
        "kind": FollowupKind.TRACKING,
        "source": "TRACK1",
        "deadline_amount": 7,
        "deadline_unit": DeadlineUnit.CALENDAR_DAYS,
        "template_code": None,
        "is_active": False,
        "is_carmaker_variant": True,
    },
    # the rules below are not generated from events in bulk: the complaints app creates their tasks
    {
        "code": "VERIFY",
        "name": DEFAULT_RULE_NAMES["VERIFY"],
        "trigger": Trigger.FEEDBACK_RETURNED,
        "kind": FollowupKind.COMPLAINT_VERIFICATION,
        "deadline_amount": 1,
        "deadline_unit": DeadlineUnit.WORKING_DAYS,
        "template_code": None,
        "is_active": True,
    },
    {
        "code": "FTF",
        "name": DEFAULT_RULE_NAMES["FTF"],
        "trigger": Trigger.REPEAT_REPAIR,
        "kind": FollowupKind.REPEAT_REPAIR,
        "deadline_amount": 2,
        "deadline_unit": DeadlineUnit.WORKING_DAYS,
        "template_code": None,
        "is_active": True,
    },
    # made by the renewals app, one per contact due on a renewal case
    {
        "code": "RENEWAL",
        "name": DEFAULT_RULE_NAMES["RENEWAL"],
        "trigger": Trigger.RENEWAL_DUE,
        "kind": FollowupKind.RENEWAL,
        "deadline_amount": 2,
        "deadline_unit": DeadlineUnit.WORKING_DAYS,
        "template_code": None,
        "is_active": True,
        "allowed_roles": [Role.RENEWAL_SPECIALIST.value, Role.CS_MANAGER.value],
    },
    # made by the care app: a reminder due (first maintenance, maintenance, warranty end …), a campaign
    # invitation, a vehicle of a recall or service campaign
    {
        "code": "CARE",
        "name": DEFAULT_RULE_NAMES["CARE"],
        "trigger": Trigger.CARE_REMINDER_DUE,
        "kind": FollowupKind.CARE,
        "deadline_amount": 3,
        "deadline_unit": DeadlineUnit.WORKING_DAYS,
        "template_code": None,
        "is_active": True,
    },
    {
        "code": "CAMPAIGN",
        "name": DEFAULT_RULE_NAMES["CAMPAIGN"],
        "trigger": Trigger.CAMPAIGN_INVITATION,
        "kind": FollowupKind.CAMPAIGN,
        "deadline_amount": 3,
        "deadline_unit": DeadlineUnit.WORKING_DAYS,
        "template_code": None,
        "is_active": True,
    },
    {
        "code": "RECALL",
        "name": DEFAULT_RULE_NAMES["RECALL"],
        "trigger": Trigger.RECALL,
        "kind": FollowupKind.RECALL,
        "deadline_amount": 5,
        "deadline_unit": DeadlineUnit.WORKING_DAYS,
        "template_code": None,
        "is_active": True,
    },
)


def _in_site_language(text) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(text)


def followup_rules_seed_defaults(store: Store) -> list[FollowupRule]:
    """Give `store` the default rules (idempotent): SSI 24 h after delivery, CSI 3 days after an RO settles,
    and the carmaker's two tracking calls, inactive. Also makes the store's settings row. The rules' names are
    written in the site's language (`LANGUAGE_CODE`), as the store's staff will read and edit them."""
    StoreFollowupSettings.objects.get_or_create(store=store)
    questionnaire_templates_ensure_shipped()
    active_templates = {t.code: t for t in QuestionnaireTemplate.objects.filter(status=QuestionnaireStatus.ACTIVE)}
    existing = {r.code: r for r in FollowupRule.objects.filter(store=store)}
    out = []
    for spec in DEFAULT_RULES:
        rule = existing.get(spec["code"])
        if rule is None:
            rule = FollowupRule(
                store=store,
                code=spec["code"],
                name=_in_site_language(spec["name"]),
                trigger=spec["trigger"],
                kind=spec["kind"],
                delay_hours=spec.get("delay_hours", 0),
                deadline_amount=spec["deadline_amount"],
                deadline_unit=spec["deadline_unit"],
                template=active_templates.get(spec["template_code"]) if spec["template_code"] else None,
                is_active=spec["is_active"],
                is_carmaker_variant=spec.get("is_carmaker_variant", False),
                excluded_repair_kinds=[RepairKind.INTERNAL.value] if spec["trigger"] == Trigger.REPAIR_ORDER else [],
                source_rule=existing.get(spec.get("source", "")),
            )
            if "allowed_roles" in spec:
                rule.allowed_roles = list(spec["allowed_roles"])
            rule.full_clean()
            rule.save()
            existing[rule.code] = rule
        out.append(rule)
    return out


_RULE_FIELDS = {
    "name",
    "delay_hours",
    "deadline_amount",
    "deadline_unit",
    "template",
    "allowed_roles",
    "excluded_repair_kinds",
    "is_active",
}


def followup_rule_update(*, actor, rule: FollowupRule, **fields) -> FollowupRule:
    """Edit a rule of the actor's own store. Tasks already made keep their deadline."""
    require_perm(actor, Perm.FOLLOWUP_RULES)
    if rule.store_id not in own_store_ids(actor):
        raise PermissionDenied
    if set(fields) - _RULE_FIELDS:
        raise TypeError(f"unknown rule fields: {sorted(set(fields) - _RULE_FIELDS)}")
    with transaction.atomic():
        for key, value in fields.items():
            setattr(rule, key, value)
        rule.full_clean()
        rule.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=rule, changed_fields=fields)
    return rule


def followup_rule_due_at(*, rule: FollowupRule, at: dt.datetime, cache: dict | None = None) -> dt.datetime:
    """The due instant of `rule`'s task for an event at `at`: the one-task form of the generator's SQL.

    Used where tasks are made one by one (complaint verification, repeat repairs). `cache` (one dict per rule
    and run) keeps the store setting and one calendar read per business day.
    """
    cache = {} if cache is None else cache
    unit = rule.deadline_unit
    if unit == DeadlineUnit.HOURS:
        return at + dt.timedelta(hours=rule.deadline_amount)
    if unit == DeadlineUnit.STORE_DAYS:
        if "store_unit" not in cache:
            cache["store_unit"] = store_followup_settings_get(store_id=rule.store_id).repair_deadline_unit
        unit = cache["store_unit"]
    day = business_date(at)
    if unit == DeadlineUnit.WORKING_DAYS:
        if day not in cache:
            cache[day] = working_deadline(rule.store_id, at, rule.deadline_amount)
        return cache[day]
    return business_day_start(day + dt.timedelta(days=rule.deadline_amount + 1))


def followup_rule_get(*, store: Store, trigger: str = "", code: str = "") -> FollowupRule | None:
    """The store's rule for `trigger` (the active one first) or with `code`; the default rules are seeded first
    when the store has no such rule. None when there is none even then."""
    rules = FollowupRule.objects.filter(store=store)
    rules = rules.filter(code=code) if code else rules.filter(trigger=trigger)
    rule = rules.order_by("-is_active", "id").first()
    if rule is None:
        followup_rules_seed_defaults(store)
        rule = rules.order_by("-is_active", "id").first()
    return rule
