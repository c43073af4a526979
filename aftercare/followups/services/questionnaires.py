"""Writes for questionnaire templates: the shipped ones, versions, activation, JSON and XLSX import/export."""

import io
import json
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.exports import unneutralise, xlsx_workbook_bytes
from aftercare.core.services import audit_event_record
from aftercare.core.text import clean_text_deep
from aftercare.org.permissions import Perm, require_perm

from ..choices import QuestionnaireKind, QuestionnaireStatus, QuestionType
from ..data.loader import create_template
from ..models import Factor, FollowupRule, Question, QuestionnaireTemplate


def questionnaire_templates_ensure_shipped() -> None:
    """Load the shipped SSI / CSI templates when their code has no version at all (the data migration does this
    on a fresh database; this covers a flushed one)."""
    from ..data.loader import shipped_templates

    for data in shipped_templates():
        if not QuestionnaireTemplate.objects.filter(code=data["code"]).exists():
            create_template(data, Template=QuestionnaireTemplate, Factor=Factor, Question=Question)


def questionnaire_template_ensure_editable(template: QuestionnaireTemplate) -> None:
    """A template with answer sheets, or active, is never edited in place: make a new version."""
    if template.status != QuestionnaireStatus.DRAFT or template.in_use:
        raise ValidationError({"template": _("This questionnaire is in use; make a new version to change it.")})


def questionnaire_template_new_version(*, actor, template: QuestionnaireTemplate) -> QuestionnaireTemplate:
    """Copy a template (factors and questions) as the next draft version of its code."""
    require_perm(actor, Perm.FOLLOWUP_TEMPLATES)
    data = questionnaire_template_to_dict(template)
    with transaction.atomic():
        top = QuestionnaireTemplate.objects.filter(code=template.code).aggregate(v=Max("version"))["v"] or 0
        copy = create_template(
            data,
            Template=QuestionnaireTemplate,
            Factor=Factor,
            Question=Question,
            version=top + 1,
            status=QuestionnaireStatus.DRAFT,
        )
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=copy, detail={"from_version": template.version})
    return copy


def questionnaire_template_activate(*, actor, template: QuestionnaireTemplate) -> QuestionnaireTemplate:
    """Make `template` the active version of its code: the old one retires and rules move to the new one.

    Tasks already created keep the version they were made with.
    """
    require_perm(actor, Perm.FOLLOWUP_TEMPLATES)
    with transaction.atomic():
        old = list(
            QuestionnaireTemplate.objects.filter(code=template.code, status=QuestionnaireStatus.ACTIVE).exclude(
                pk=template.pk
            )
        )
        QuestionnaireTemplate.objects.filter(pk__in=[t.pk for t in old]).update(status=QuestionnaireStatus.RETIRED)
        QuestionnaireTemplate.objects.filter(pk=template.pk).update(status=QuestionnaireStatus.ACTIVE)
        FollowupRule.objects.filter(template__code=template.code).exclude(template=template).update(
            template=template, updated_at=timezone.now()
        )
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=template, changed_fields=["status"])
    template.refresh_from_db()
    return template


def questionnaire_template_to_dict(template: QuestionnaireTemplate) -> dict:
    """The JSON form of a template (see data/loader.py)."""
    return {
        "code": template.code,
        "version": template.version,
        "kind": template.kind,
        "status": template.status,
        "name_zh": template.name_zh,
        "name_en": template.name_en,
        "dissatisfied_threshold": str(template.dissatisfied_threshold),
        "factors": [
            {
                "code": f.code,
                "name_zh": f.name_zh,
                "name_en": f.name_en,
                "weight": str(f.weight),
                "questions": [
                    {
                        "code": q.code,
                        "type": q.type,
                        "text_zh": q.text_zh,
                        "text_en": q.text_en,
                        "weight": str(q.weight),
                        "required": q.required,
                        "dissatisfied_at_or_below": q.dissatisfied_at_or_below,
                        "choices": q.choices,
                    }
                    for q in f.questions.all()
                ],
            }
            for f in template.factors.prefetch_related("questions")
        ],
    }


def _template_dict_validate(data) -> dict:
    """Check an imported template; errors name the factor / question position."""
    errors: dict[str, list[str]] = {}

    def err(key, msg):
        errors.setdefault(key, []).append(str(msg))

    if not isinstance(data, dict):
        raise ValidationError({"__all__": [gettext("A template must be a JSON object.")]})
    for key in ("code", "kind", "name_zh"):
        if not str(data.get(key) or "").strip():
            err(key, gettext("This field is required."))
    if data.get("kind") and data["kind"] not in QuestionnaireKind.values:
        err("kind", gettext("Unknown kind."))
    try:
        threshold = Decimal(str(data.get("dissatisfied_threshold", "0.4")))
        if not 0 <= threshold <= 1:
            raise ValueError
    except (ArithmeticError, ValueError):
        err("dissatisfied_threshold", gettext("Give a number from 0 to 1."))
    factors = data.get("factors")
    if not isinstance(factors, list) or not factors:
        err("factors", gettext("Give at least one factor."))
        factors = []
    codes: set[str] = set()
    for i, f in enumerate(factors, start=1):
        where = f"factors.{i}"
        if not isinstance(f, dict):
            err(where, gettext("A factor must be an object."))
            continue
        for key in ("code", "name_zh"):
            if not str(f.get(key) or "").strip():
                err(f"{where}.{key}", gettext("This field is required."))
        try:
            if Decimal(str(f.get("weight", 1))) < 0:
                raise ValueError
        except (ArithmeticError, ValueError):
            err(f"{where}.weight", gettext("Give a number of at least 0."))
        questions = f.get("questions")
        if not isinstance(questions, list) or not questions:
            err(f"{where}.questions", gettext("Give at least one question."))
            continue
        for j, q in enumerate(questions, start=1):
            qwhere = f"{where}.questions.{j}"
            if not isinstance(q, dict):
                err(qwhere, gettext("A question must be an object."))
                continue
            code = str(q.get("code") or "").strip()
            if not code:
                err(f"{qwhere}.code", gettext("This field is required."))
            elif code in codes:
                err(f"{qwhere}.code", gettext("Question codes must be unique."))
            codes.add(code)
            if not str(q.get("text_zh") or "").strip():
                err(f"{qwhere}.text_zh", gettext("This field is required."))
            if q.get("type") not in QuestionType.values:
                err(f"{qwhere}.type", gettext("Unknown question type."))
            try:
                if Decimal(str(q.get("weight", 1))) < 0:
                    raise ValueError
            except (ArithmeticError, ValueError):
                err(f"{qwhere}.weight", gettext("Give a number of at least 0."))
            limit = q.get("dissatisfied_at_or_below")
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
                err(f"{qwhere}.dissatisfied_at_or_below", gettext("Give a whole number or leave it empty."))
            if q.get("type") == QuestionType.SINGLE_CHOICE:
                choices = q.get("choices")
                values = [c.get("value") for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []
                if not values or None in values or len(set(values)) != len(values) or len(values) != len(choices):
                    err(f"{qwhere}.choices", gettext("Every choice needs a distinct value."))
    if errors:
        raise ValidationError(errors)
    return data


def questionnaire_template_import(*, actor, data: dict) -> QuestionnaireTemplate:
    """Create a template from its JSON form, always as a new draft version of its code (never overwriting)."""
    require_perm(actor, Perm.FOLLOWUP_TEMPLATES)
    data = _template_dict_validate(clean_text_deep(data))  # questions are bulk-created: no model clean on the way
    with transaction.atomic():
        top = QuestionnaireTemplate.objects.filter(code=data["code"]).aggregate(v=Max("version"))["v"] or 0
        template = create_template(
            data,
            Template=QuestionnaireTemplate,
            Factor=Factor,
            Question=Question,
            version=top + 1,
            status=QuestionnaireStatus.DRAFT,
        )
        audit_event_record(actor=actor, action=AuditAction.IMPORT, obj=template)
    return template


_XLSX_COLUMNS = (
    "factor_code",
    "factor_name_zh",
    "factor_name_en",
    "factor_weight",
    "code",
    "type",
    "text_zh",
    "text_en",
    "weight",
    "required",
    "dissatisfied_at_or_below",
    "choices",
)
_XLSX_HEADER = ("code", "version", "kind", "status", "name_zh", "name_en", "dissatisfied_threshold")


def questionnaire_template_export_xlsx(*, actor, template: QuestionnaireTemplate) -> bytes:
    """The template as an XLSX workbook: sheet `template` (key/value) and sheet `questions` (one row each)."""
    data = questionnaire_template_to_dict(template)
    head = [[key, data[key]] for key in _XLSX_HEADER]
    questions = [list(_XLSX_COLUMNS)] + [
        [
            f["code"],
            f["name_zh"],
            f["name_en"],
            f["weight"],
            q["code"],
            q["type"],
            q["text_zh"],
            q["text_en"],
            q["weight"],
            "yes" if q["required"] else "no",
            q["dissatisfied_at_or_below"],
            json.dumps(q["choices"], ensure_ascii=False) if q["choices"] else "",
        ]
        for f in data["factors"]
        for q in f["questions"]
    ]
    content, _n = xlsx_workbook_bytes([("template", head), ("questions", questions)])
    audit_event_record(actor=actor, action=AuditAction.EXPORT, obj=template)
    return content


def _xlsx_text_rows(sheet):
    """The sheet's rows as values, text as the export writer was given it (`unneutralise`)."""
    for row in sheet.iter_rows(values_only=True):
        yield tuple(unneutralise(v) if isinstance(v, str) else v for v in row)


def questionnaire_template_dict_from_xlsx(content: bytes) -> dict:
    """Read a workbook written by `questionnaire_template_export_xlsx` (or by hand, same layout) into JSON form."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise ValidationError({"file": [gettext("Not a readable XLSX file.")]})
    if "template" not in wb.sheetnames or "questions" not in wb.sheetnames:
        raise ValidationError({"file": [gettext("The workbook needs the sheets 'template' and 'questions'.")]})
    data: dict = {}
    for row in _xlsx_text_rows(wb["template"]):
        if row and row[0] in _XLSX_HEADER:
            data[row[0]] = "" if len(row) < 2 or row[1] is None else row[1]
    rows = _xlsx_text_rows(wb["questions"])
    header = [str(c or "").strip() for c in next(rows, ())]
    missing = [c for c in _XLSX_COLUMNS if c not in header]
    if missing:
        raise ValidationError({"questions": [gettext("Missing columns: %(cols)s") % {"cols": ", ".join(missing)}]})
    factors: dict[str, dict] = {}
    for n, row in enumerate(rows, start=2):
        rec = dict(zip(header, row, strict=False))
        if not any(v not in (None, "") for v in rec.values()):
            continue
        fcode = str(rec["factor_code"] or "").strip()
        factor = factors.setdefault(
            fcode,
            {
                "code": fcode,
                "name_zh": rec["factor_name_zh"] or "",
                "name_en": rec["factor_name_en"] or "",
                "weight": str(rec["factor_weight"] if rec["factor_weight"] is not None else 1),
                "questions": [],
            },
        )
        try:
            choices = json.loads(rec["choices"]) if rec["choices"] else []
        except json.JSONDecodeError:
            raise ValidationError({f"questions.row {n}.choices": [gettext("Not valid JSON.")]})
        limit = rec["dissatisfied_at_or_below"]
        factor["questions"].append(
            {
                "code": str(rec["code"] or "").strip(),
                "type": str(rec["type"] or "").strip(),
                "text_zh": rec["text_zh"] or "",
                "text_en": rec["text_en"] or "",
                "weight": str(rec["weight"] if rec["weight"] is not None else 1),
                "required": str(rec["required"] or "yes").strip().lower() in {"yes", "true", "1", "是"},
                "dissatisfied_at_or_below": int(limit) if limit not in (None, "") else None,
                "choices": choices,
            }
        )
    data["factors"] = list(factors.values())
    return data
