"""The part-family and symptom codes: data the quality engineer edits (`quality.manage`), audited."""

from django.db import transaction

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.core.text import clean_text
from aftercare.org.permissions import Perm, require_perm

from ..models import PartFamily, SymptomCode

FAMILY_FIELDS = ("code", "name_zh", "name_en", "important", "active", "position")
SYMPTOM_FIELDS = ("code", "name_zh", "name_en", "family", "active")


def _save(*, actor, row, fields: tuple[str, ...], values: dict):
    require_perm(actor, Perm.QUALITY_MANAGE)
    creating = row.pk is None
    changed = []
    for name in fields:
        if name not in values:
            continue
        value = values[name]
        if isinstance(value, str):
            value = clean_text(value)
            if name == "code":
                value = value.upper()
        if getattr(row, name) != value or creating:
            setattr(row, name, value)
            changed.append(name)
    with transaction.atomic():
        row.full_clean()
        row.save()
        audit_event_record(
            actor=actor, action=AuditAction.CREATE if creating else AuditAction.UPDATE, obj=row, changed_fields=changed
        )
    return row


def part_family_save(*, actor, family: PartFamily | None = None, **values) -> PartFamily:
    """Create (no `family`) or change a part family."""
    return _save(actor=actor, row=family or PartFamily(), fields=FAMILY_FIELDS, values=values)


def symptom_code_save(*, actor, symptom: SymptomCode | None = None, **values) -> SymptomCode:
    """Create (no `symptom`) or change a symptom code (of one family, or general without one)."""
    return _save(actor=actor, row=symptom or SymptomCode(), fields=SYMPTOM_FIELDS, values=values)
