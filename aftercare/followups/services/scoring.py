"""Questionnaire scoring (docs/kpis.md) and the answer sheet that completes a call."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record

from ..choices import SCALE_MAX, CallOutcome, QuestionType
from ..models import Answer, AnswerSheet, FollowupTask, Question, QuestionnaireTemplate
from .attempts import _call_feedback_create, _held_task, followup_attempt_record

_YES = {1, "yes", "y", "true", "1", "是"}
_NO = {0, "no", "n", "false", "0", "否"}


def _answer_clean(question: Question, value):
    """The stored form of one answer, or ValidationError with a message for that question."""
    if question.type in SCALE_MAX:
        top = SCALE_MAX[question.type]
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValidationError(_("Give a whole number from 1 to %(max)s.") % {"max": top})
        try:
            number = int(value)
        except ValueError:
            raise ValidationError(_("Give a whole number from 1 to %(max)s.") % {"max": top})
        if not 1 <= number <= top:
            raise ValidationError(_("Give a whole number from 1 to %(max)s.") % {"max": top})
        return number
    if question.type == QuestionType.YES_NO:
        if isinstance(value, bool):
            return value
        probe = value.strip().lower() if isinstance(value, str) else value
        if isinstance(probe, int | str) and probe in _YES:
            return True
        if isinstance(probe, int | str) and probe in _NO:
            return False
        raise ValidationError(_("Answer yes or no."))
    if question.type == QuestionType.SINGLE_CHOICE:
        values = {c["value"] for c in question.choices}
        if value not in values:
            raise ValidationError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(sorted(map(str, values)))})
        return value
    if not isinstance(value, str):
        raise ValidationError(_("Give text."))
    if len(value) > 2000:
        raise ValidationError(_("At most 2000 characters."))
    return value.strip()


def _answer_score(question: Question, value) -> Decimal | None:
    """Normalised 0–1 score of an answer; None when the answer does not count (free text, unscored choice)."""
    if value is None or question.weight == 0:
        return None
    if question.type in SCALE_MAX:
        return Decimal(value - 1) / Decimal(SCALE_MAX[question.type] - 1)
    if question.type == QuestionType.YES_NO:
        return Decimal(1) if value else Decimal(0)
    if question.type == QuestionType.SINGLE_CHOICE:
        choice = next(c for c in question.choices if c["value"] == value)
        return None if choice.get("score") is None else Decimal(str(choice["score"]))
    return None


def _answer_dissatisfied(question: Question, value, score: Decimal | None, threshold: Decimal) -> bool:
    if value is None:
        return False
    if question.type == QuestionType.SINGLE_CHOICE:
        return bool(next(c for c in question.choices if c["value"] == value).get("dissatisfied"))
    if question.dissatisfied_at_or_below is not None and question.type in (*SCALE_MAX, QuestionType.YES_NO):
        return int(value) <= question.dissatisfied_at_or_below
    if question.type == QuestionType.YES_NO:
        return value is False  # without its own threshold, a yes/no question's bad answer is "no"
    if question.type in SCALE_MAX and score is not None:
        return score <= threshold
    return False


def _quantize(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def questionnaire_score(template: QuestionnaireTemplate, values: dict[int, object]) -> dict:
    """Score cleaned answers `{question_id: value}` on the 1000-point scale (formula: docs/kpis.md).

    Per factor: S_f = Σ w_q·s_q / Σ w_q over the factor's scored answers (s_q normalised to 0–1).
    Overall: 1000 · Σ W_f·S_f / Σ W_f over factors with a score. Factor scores are reported × 1000 too.
    """
    factors = list(template.factors.prefetch_related("questions"))
    threshold = template.dissatisfied_threshold
    num_total = den_total = Decimal(0)
    factor_scores: dict[str, Decimal | None] = {}
    per_question: dict[int, tuple[Decimal | None, bool]] = {}
    for factor in factors:
        num = den = Decimal(0)
        for q in factor.questions.all():
            value = values.get(q.pk)
            score = _answer_score(q, value)
            per_question[q.pk] = (score, _answer_dissatisfied(q, value, score, threshold))
            if score is not None:
                num += q.weight * score
                den += q.weight
        if den:
            s_f = num / den
            factor_scores[factor.code] = _quantize(1000 * s_f)
            if factor.weight:
                num_total += factor.weight * s_f
                den_total += factor.weight
        else:
            factor_scores[factor.code] = None
    total = _quantize(1000 * num_total / den_total) if den_total else None
    return {"total": total, "factors": factor_scores, "questions": per_question}


def answer_sheet_submit(
    *,
    actor,
    task: FollowupTask,
    answers: dict,
    dissatisfied: bool = False,
    notes: str = "",
    feedback: dict | None = None,
) -> AnswerSheet:
    """Save the questionnaire of a call the actor holds, score it, and complete the task.

    `answers`: {question id: value}. Every bad answer is reported under `answers.<question id>`; nothing is
    stored unless all are valid. The sheet is dissatisfied when any answer is at or below its threshold or the
    specialist marks it (`dissatisfied=True`). A dissatisfied sheet, or `feedback` said on the call, creates a
    feedback record (complaints app) in the same transaction, linked to the task, the sheet and the call.
    """
    if task.template_id is None:
        raise ValidationError({"template": _("This task has no questionnaire.")})
    template = QuestionnaireTemplate.objects.get(pk=task.template_id)
    questions = {q.pk: q for q in Question.objects.filter(factor__template=template)}
    errors: dict[str, list[str]] = {}
    cleaned: dict[int, object] = {}
    for raw_key, value in (answers or {}).items():
        try:
            qid = int(raw_key)
        except (TypeError, ValueError):
            qid = None
        if qid not in questions:
            errors[f"answers.{raw_key}"] = [gettext("Not a question of this questionnaire.")]
            continue
        if value is None or value == "":
            continue
        try:
            cleaned[qid] = _answer_clean(questions[qid], value)
        except ValidationError as exc:
            errors[f"answers.{qid}"] = exc.messages
    for qid, q in questions.items():
        if q.required and qid not in cleaned and f"answers.{qid}" not in errors:
            errors[f"answers.{qid}"] = [gettext("This answer is required.")]
    if errors:
        raise ValidationError(errors)
    result = questionnaire_score(template, cleaned)
    reasons = [questions[qid].code for qid, (_s, bad) in result["questions"].items() if bad]
    if dissatisfied:
        reasons.append("marked")
    now = timezone.now()
    with transaction.atomic():
        task = _held_task(actor, task)
        sheet = AnswerSheet(
            store_id=task.store_id,
            task=task,
            template=template,
            answered_by=actor,
            answered_at=now,
            score_total=result["total"],
            factor_scores={k: (str(v) if v is not None else None) for k, v in result["factors"].items()},
            dissatisfied=bool(reasons),
            dissatisfied_reasons=reasons,
            notes=notes or "",
        )
        sheet.full_clean(exclude=["task"])
        sheet.save()
        Answer.objects.bulk_create(
            Answer(
                sheet=sheet,
                question_id=qid,
                value=value,
                score=result["questions"][qid][0],
                dissatisfied=result["questions"][qid][1],
            )
            for qid, value in cleaned.items()
        )
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=sheet, detail={"dissatisfied": bool(reasons)})
        call = followup_attempt_record(actor=actor, task=task, outcome=CallOutcome.COMPLETED, notes=notes)
        if feedback or sheet.dissatisfied:
            _call_feedback_create(
                actor=actor,
                task=task,
                call=call,
                sheet=sheet,
                feedback=feedback or _dissatisfied_feedback(task, sheet, questions, cleaned, notes),
            )
    return sheet


def answer_line(question: Question, value) -> str:
    """How a grievance quotes one answer: code, question and answer, a yes / no answer in the store's language like
    the question (the demo's grievances quote theirs the same way)."""
    if isinstance(value, bool):
        with translation.override(settings.LANGUAGE_CODE):
            value = gettext("Yes") if value else gettext("No")
    return f"{question.code} {question.text_zh}: {value}"


def _dissatisfied_feedback(task, sheet: AnswerSheet, questions: dict, cleaned: dict, notes: str) -> dict:
    """A grievance made from a dissatisfied sheet: the questions answered badly, their answers and the notes."""
    lines = []
    by_code = {q.code: q for q in questions.values()}
    for code in sheet.dissatisfied_reasons:
        q = by_code.get(code)
        if q is None:
            continue
        lines.append(answer_line(q, cleaned.get(q.pk)))
    if "marked" in sheet.dissatisfied_reasons:
        with translation.override(settings.LANGUAGE_CODE):
            lines.append(gettext("Marked dissatisfied by the specialist."))
    if notes:
        lines.append(notes)
    return {"kind": "grievance", "text": "\n".join(lines)}
