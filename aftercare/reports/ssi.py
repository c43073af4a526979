"""SSI / CSI against region and nation (docs/reports.md, "SSI against region and nation").

- `ssi_benchmarks_import`: the carmaker's monthly file (XLSX / CSV, Chinese or English headers) → `SsiBenchmark`
  rows of one store; every bad cell is reported by row and column and nothing is stored unless all are good; a
  re-import updates the same (store, survey, month, factor) rows in place.
- `ssi_rank_target_set`: the store's target ranks.
- `ssi_comparison`: the figures of the page: per month and quarter of a year the store's score from aftercare's
  answer sheets and as the carmaker reported it, the region's and the nation's averages, the ranks and the targets;
  per factor the same for one month or quarter.
- `ssi_sheet_list` / `ssi_export_rows`: the answer sheets of a month, and the carmaker's upload layout of them.

Reads are scoped like every selector (`org.scoping`); writes go to the user's own stores only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftercare.appointments.links import surname
from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.core.text import clean_text
from aftercare.dms.readers import ImportFileError, RowError, SheetImport, filled_rows, local_path, open_table
from aftercare.followups.models import Answer, AnswerSheet, Factor, Question
from aftercare.org.calendar import business_date, month_add, month_range
from aftercare.org.permissions import Perm, require_perm

from .models import SCORE_MAX, SURVEY_KINDS, SsiBenchmark, SsiRankTarget

KINDS = dict(SURVEY_KINDS)
MAX_ROWS = 5000
OVERALL_WORDS = {"", "总分", "总体", "总体得分", "综合", "综合得分", "overall", "total", "*"}
_KIND_WORDS = {"ssi": "ssi", "销售": "ssi", "新车": "ssi", "csi": "csi", "售后": "csi"}

# Field → header aliases (Chinese and English; matched without spaces, case or notes in brackets).
COLUMNS: dict[str, tuple[str, ...]] = {
    "month": ("月份", "月", "期间", "统计月份", "month", "period"),
    "kind": ("问卷", "调研", "类型", "调研类型", "survey", "kind"),
    "factor": ("因子", "指标", "项目", "因子名称", "factor", "item"),
    "store_code": ("经销商代码", "门店代码", "店代码", "dealer code", "store code"),
    "store_score": ("本店得分", "我店得分", "得分", "门店得分", "本店", "store score", "score"),
    "region_score": ("大区平均分", "大区平均", "大区", "区域平均分", "区域平均", "region average", "region"),
    "nation_score": ("全国平均分", "全国平均", "全国", "national average", "nation"),
    "region_rank": ("大区排名", "区域排名", "region rank"),
    "nation_rank": ("全国排名", "排名", "national rank", "rank"),
    "region_stores": ("大区店数", "区域店数", "大区参评店数", "stores in region", "region stores"),
    "nation_stores": ("全国店数", "全国参评店数", "stores nationally", "national stores"),
    "responses": ("样本数", "样本量", "有效样本", "responses", "sample"),
}
FIGURES = ("store_score", "region_score", "nation_score", "region_rank", "region_stores", "nation_rank",
           "nation_stores", "responses")
SCORES = ("store_score", "region_score", "nation_score")
COLUMN_LABELS = {
    "month": gettext_lazy("Month (月份)"),
    "kind": gettext_lazy("Survey (问卷: SSI / CSI)"),
    "factor": gettext_lazy("Factor (因子; empty or 总分: overall)"),
    "store_code": gettext_lazy("Dealer code (经销商代码)"),
    "store_score": gettext_lazy("Store score (本店得分)"),
    "region_score": gettext_lazy("Region average (大区平均分)"),
    "nation_score": gettext_lazy("National average (全国平均分)"),
    "region_rank": gettext_lazy("Rank in region (大区排名)"),
    "region_stores": gettext_lazy("Stores in region (大区店数)"),
    "nation_rank": gettext_lazy("National rank (全国排名)"),
    "nation_stores": gettext_lazy("Stores nationally (全国店数)"),
    "responses": gettext_lazy("Responses (样本数)"),
}
_MONTH_RE = re.compile(r"^\s*(\d{4})\s*(?:[-/.年]\s*(\d{1,2})\s*月?|(\d{2}))\s*(?:[-/.]\s*\d{1,2}\s*日?)?\s*$")


def _q2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _mean(values) -> Decimal | None:
    values = [v for v in values if v is not None]
    return _q2(sum(values, Decimal(0)) / len(values)) if values else None


# ---- import -----------------------------------------------------------------------------------------------------


@dataclass
class ImportResult(SheetImport):
    created: int = 0
    updated: int = 0
    headers: dict[str, str] = field(default_factory=dict)  # field → the file's header of it


def import_columns_help() -> list[tuple[str, str]]:
    """(label, accepted headers) of every column the import reads, for the import page."""
    return [(str(COLUMN_LABELS[name]), " / ".join(aliases)) for name, aliases in COLUMNS.items()]


def factor_names(kind: str) -> dict[str, str]:
    """{lower-cased factor code, Chinese or English name: factor code} over the questionnaires of `kind`."""
    out: dict[str, str] = {}
    for code, zh, en in Factor.objects.filter(template__kind=kind).values_list("code", "name_zh", "name_en"):
        for name in (code, zh, en):
            if name:
                out[name.strip().lower()] = code
    return out


def factor_labels(kind: str) -> dict[str, tuple[str, str, int]]:
    """{factor code: (Chinese name, English name, order)} of the newest questionnaire version of `kind` naming it."""
    out: dict[str, tuple[str, str, int]] = {}
    rows = Factor.objects.filter(template__kind=kind).order_by("template__version", "order")
    for code, zh, en, order in rows.values_list("code", "name_zh", "name_en", "order"):
        out[code] = (zh, en, order)
    return out


def _text(value) -> str:
    return "" if value is None else clean_text(str(value)).strip()[:200]


def _parse_month(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date().replace(day=1)
    if isinstance(value, dt.date):
        return value.replace(day=1)
    match = _MONTH_RE.match(str(value or ""))
    if match:
        year, month = int(match.group(1)), int(match.group(2) or match.group(3))
        if 1 <= month <= 12 and 2000 <= year <= 2100:
            return dt.date(year, month, 1)
    raise ValidationError(_("Give a month such as 2024-03 or 2024年3月."))


def _parse_score(value) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValidationError(_("Give a score from 0 to %(max)s.") % {"max": SCORE_MAX})
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError(_("Give a score from 0 to %(max)s.") % {"max": SCORE_MAX}) from None
    if not number.is_finite() or not 0 <= number <= SCORE_MAX:
        raise ValidationError(_("Give a score from 0 to %(max)s.") % {"max": SCORE_MAX})
    return _q2(number)


def _parse_count(value) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if isinstance(value, bool) or not text.isdigit() or int(text) < 1 or int(text) > 10**6:
        raise ValidationError(_("Give a whole number of at least 1."))
    return int(text)


_PARSERS = {
    "store_score": _parse_score, "region_score": _parse_score, "nation_score": _parse_score,
    "region_rank": _parse_count, "region_stores": _parse_count, "nation_rank": _parse_count,
    "nation_stores": _parse_count, "responses": _parse_count,
}


def _read_rows(table, *, store, kind_default: str, result: ImportResult) -> tuple[dict[tuple, dict], dict]:
    """{(kind, month, factor): {field: value}} of the good rows and {same key: row number}; bad cells go to
    `result.errors`."""
    mapping = table.mapping
    if "month" not in mapping:
        raise ImportFileError(_("The file has no month column (月份)."))
    if not any(name in mapping for name in FIGURES):
        raise ImportFileError(_("The file has none of the score or rank columns (得分, 大区, 全国, 排名)."))
    if "kind" not in mapping and not kind_default:
        raise ImportFileError(_("Choose the survey (SSI or CSI), or give it in a column (问卷)."))
    names: dict[str, dict[str, str]] = {}
    seen: dict[tuple, int] = {}
    out: dict[tuple, dict] = {}

    def header(name):
        return table.header_of(name, COLUMN_LABELS[name])

    result.headers = {name: header(name) for name in mapping}

    for row_number, cell in filled_rows(table, result, MAX_ROWS):
        def error(name, message, row_number=row_number):
            result.errors.append(RowError(row_number, header(name), str(message)))

        bad = False
        values: dict = {}
        try:
            month = _parse_month(cell("month"))
        except ValidationError as exc:
            error("month", exc.messages[0])
            bad, month = True, None
        kind = kind_default
        if "kind" in mapping and str(cell("kind") or "").strip():
            kind = _KIND_WORDS.get(str(cell("kind")).strip().lower(), "")
            if not kind:
                error("kind", _("Give SSI or CSI."))
                bad = True
        elif not kind:
            error("kind", _("Give SSI or CSI."))
            bad = True
        factor = ""
        raw_factor = _text(cell("factor")) if "factor" in mapping else ""
        if kind and raw_factor.lower() not in OVERALL_WORDS:
            known = names.setdefault(kind, factor_names(kind))
            factor = known.get(raw_factor.lower(), "")
            if not factor:
                shown = sorted({v for v in known.values()})
                error("factor", _("Unknown factor %(factor)s; known: %(known)s, or empty for the overall score.")
                      % {"factor": raw_factor[:40], "known": ", ".join(shown) or "—"})
                bad = True
        if "store_code" in mapping:
            code = _text(cell("store_code"))
            if code and code.upper() != store.code.upper():
                error("store_code", _("This row is for dealer %(code)s, not for %(store)s.")
                      % {"code": code[:20], "store": store.code})
                bad = True
        for name in FIGURES:
            if name not in mapping:
                continue
            try:
                values[name] = _PARSERS[name](cell(name))
            except ValidationError as exc:
                error(name, exc.messages[0])
                bad = True
        for rank, stores in (("region_rank", "region_stores"), ("nation_rank", "nation_stores")):
            if values.get(rank) and values.get(stores) and values[rank] > values[stores]:
                error(rank, _("The rank is larger than the number of stores ranked (%(n)s).") % {"n": values[stores]})
                bad = True
        if not bad and all(values.get(name) is None for name in FIGURES):
            error("month", _("The row has no score and no rank."))
            bad = True
        if bad:
            continue
        key = (kind, month, factor)
        if key in seen:
            error("month", _("This month and factor are already given in row %(row)s.") % {"row": seen[key]})
            continue
        seen[key] = row_number
        out[key] = values
    return out, seen


def ssi_benchmarks_import(*, actor, store, file, kind: str = "") -> ImportResult:
    """Import the carmaker's file of monthly results for `store` (one of the actor's own stores).

    `kind` ("ssi" / "csi") is the survey of rows without a survey column. All or nothing: with any error the
    result lists them (row and column as in the file) and no row is written. A re-import updates the rows of the
    same survey, month and factor in place; a column the file lacks leaves the stored figure as it was."""
    require_perm(actor, Perm.KPI_SET_TARGET)
    result = ImportResult()
    if kind and kind not in KINDS:
        result.file_error = _("Give SSI or CSI.")
        return result
    try:
        with local_path(file) as path, open_table(path, COLUMNS) as table:
            rows, row_numbers = _read_rows(table, store=store, kind_default=kind, result=result)
    except ImportFileError as exc:
        result.file_error = str(exc)
        return result
    if result.errors:
        return result
    if not rows:
        result.file_error = _("The file has no rows.")
        return result
    try:
        _write(actor=actor, store=store, rows=rows, row_numbers=row_numbers, result=result)
    except _Refused:
        result.created = result.updated = 0
    except IntegrityError:  # another import of the store's same month and factor committed meanwhile
        result.created = result.updated = 0
        result.file_error = _("Another import for this store ran at the same time; import the file again.")
    return result


class _Refused(Exception):
    """A row conflicts with what is stored (`result.errors` says which): the import's transaction is undone."""


def _write(*, actor, store, rows: dict[tuple, dict], row_numbers: dict, result: ImportResult) -> None:
    with transaction.atomic():
        existing = {
            (b.kind, b.month, b.factor): b
            for b in SsiBenchmark.objects.select_for_update().filter(
                store=store, month__in={key[1] for key in rows}
            )
        }
        for (kind_, month, factor), values in sorted(rows.items()):
            row = existing.get((kind_, month, factor))
            if row is None:
                row = SsiBenchmark(store=store, kind=kind_, month=month, factor=factor)
                result.created += 1
            else:
                result.updated += 1
            row.region_id = store.region_id
            for name, value in values.items():
                setattr(row, name, value)
            clash = False
            for rank, stores in (("region_rank", "region_stores"), ("nation_rank", "nation_stores")):
                # the file's rank beyond the stored number of stores ranked (or the other way round)
                if getattr(row, rank) and getattr(row, stores) and getattr(row, rank) > getattr(row, stores):
                    column = rank if rank in values else stores
                    result.errors.append(RowError(
                        row_numbers[(kind_, month, factor)], result.headers.get(column, str(COLUMN_LABELS[column])),
                        _("The rank is larger than the number of stores ranked (%(n)s).") % {"n": getattr(row, stores)},
                    ))
                    clash = True
            if clash:
                continue
            row.full_clean()
            row.save()
        if result.errors:
            raise _Refused
        audit_event_record(actor=actor, action=AuditAction.IMPORT, object_type="reports.ssibenchmark",
                           store_id=store.pk, changed_fields=sorted({n for v in rows.values() for n in v}),
                           detail={"created": result.created, "updated": result.updated})


def ssi_rank_target_set(*, actor, store, kind: str, region_rank: int | None, nation_rank: int | None) -> SsiRankTarget:
    """Set the store's target ranks for a survey (empty: no target)."""
    require_perm(actor, Perm.KPI_SET_TARGET)
    with transaction.atomic():
        target, created = SsiRankTarget.objects.get_or_create(store=store, kind=kind)
        target.region_rank, target.nation_rank = region_rank, nation_rank
        target.full_clean()
        target.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=target,
                           store_id=store.pk, changed_fields=["region_rank", "nation_rank"])
    return target


# ---- the comparison -----------------------------------------------------------------------------------------------


def quarter_of(month: dt.date) -> int:
    return (month.month - 1) // 3 + 1


def parse_period(text: str, year: int) -> tuple[str, dt.date] | None:
    """("month", first day) for "2024-03", ("quarter", first month) for "2024-Q2"; None for anything else."""
    text = (text or "").strip().upper()
    if match := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        return "quarter", dt.date(int(match.group(1)), 3 * int(match.group(2)) - 2, 1)
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        if 1 <= int(match.group(2)) <= 12 and 2000 <= int(match.group(1)) <= 2100:
            return "month", dt.date(int(match.group(1)), int(match.group(2)), 1)
    return None


def _sheets(store_id: int, kind: str, start: dt.date, end: dt.date):
    """(business month, score, factor scores) of the store's scored answer sheets of `kind` in [start, end)."""
    since, until = month_range(start)[0], month_range(month_add(end, -1))[1]
    rows = (
        AnswerSheet.objects.filter(store_id=store_id, template__kind=kind, answered_at__gte=since,
                                   answered_at__lt=until, score_total__isnull=False)
        .order_by()
        .values_list("answered_at", "score_total", "factor_scores")
    )
    for answered_at, total, factors in rows:
        yield business_date(answered_at).replace(day=1), total, factors or {}


def _judge(rank, target) -> str:
    if rank is None or target is None:
        return ""
    return "met" if rank <= target else "missed"


def ssi_comparison(*, store, kind: str, year: int, period: tuple[str, dt.date] | None = None) -> dict:
    """The page's figures for one store (already scoped by the caller) and survey over a calendar year.

    Months and quarters: `own` (mean of aftercare's answer sheets; a quarter: mean of all its sheets, i.e. weighted
    by count), `own_count`, `carmaker` (the store's score as the carmaker reported it), `region`, `nation` (a
    quarter: mean of its months that have the figure), the ranks and stores ranked (a quarter: its last month that
    has a rank), each rank judged against the target rank. Factors: the same for `period` (default: the latest
    month with any figure)."""
    months = [dt.date(year, m, 1) for m in range(1, 13)]
    bench = {
        (b.month, b.factor): b
        for b in SsiBenchmark.objects.filter(store=store, kind=kind, month__year=year)
    }
    target = SsiRankTarget.objects.filter(store=store, kind=kind).first()
    t_region = target.region_rank if target else None
    t_nation = target.nation_rank if target else None
    own_month: dict[dt.date, list[Decimal]] = defaultdict(list)
    own_factor: dict[tuple[dt.date, str], list[Decimal]] = defaultdict(list)
    for month, total, factors in _sheets(store.pk, kind, months[0], dt.date(year + 1, 1, 1)):
        own_month[month].append(total)
        for code, value in factors.items():
            if value is not None:
                own_factor[(month, code)].append(Decimal(str(value)))

    def cell(label, key, span, *, factor=""):
        rows = [bench.get((m, factor)) for m in span]
        own = [v for m in span for v in (own_month[m] if not factor else own_factor[(m, factor)])]
        ranked = [b for b in rows if b is not None and (b.region_rank or b.nation_rank)]
        last = ranked[-1] if ranked else None
        out = {
            "label": label, "key": key, "start": span[0], "months": span,
            "own": _mean(own), "own_count": len(own),
            "carmaker": _mean(b.store_score for b in rows if b),
            "region": _mean(b.region_score for b in rows if b),
            "nation": _mean(b.nation_score for b in rows if b),
            "responses": sum(b.responses or 0 for b in rows if b) or None,
            "region_rank": last.region_rank if last else None,
            "region_stores": last.region_stores if last else None,
            "nation_rank": last.nation_rank if last else None,
            "nation_stores": last.nation_stores if last else None,
        }
        shown = out["carmaker"] if out["carmaker"] is not None else out["own"]
        out["shown"] = shown
        out["gap_region"] = shown - out["region"] if shown is not None and out["region"] is not None else None
        out["gap_nation"] = shown - out["nation"] if shown is not None and out["nation"] is not None else None
        out["region_judge"] = _judge(out["region_rank"], t_region)
        out["nation_judge"] = _judge(out["nation_rank"], t_nation)
        return out

    month_cells = [cell(f"{m:%Y-%m}", f"{m:%Y-%m}", [m]) for m in months]
    quarter_cells = [cell(f"Q{q}", f"{year}-Q{q}", months[3 * q - 3:3 * q]) for q in range(1, 5)]
    if period is None:
        with_data = [c for c in month_cells if c["own_count"] or c["carmaker"] is not None or c["region"] is not None]
        period = ("month", with_data[-1]["start"]) if with_data else ("month", months[min(business_date().month,
                                                                                              12) - 1])
    p_kind, p_start = period
    span = [p_start] if p_kind == "month" else [month_add(p_start, i) for i in range(3)]
    labels = factor_labels(kind)
    codes = sorted(set(labels) | {f for (_m, f) in bench if f} | {f for (_m, f) in own_factor},
                   key=lambda c: (labels.get(c, ("", "", 999))[2], c))
    factor_rows = []
    for code in codes:
        row = cell(code, code, span, factor=code)
        zh, en, _order = labels.get(code, (code, code, 0))
        row["name_zh"], row["name_en"] = zh, en
        factor_rows.append(row)
    period_label = f"{p_start:%Y-%m}" if p_kind == "month" else f"{p_start.year}-Q{quarter_of(p_start)}"
    return {
        "store": store, "kind": kind, "kind_label": KINDS[kind], "year": year,
        "months": month_cells, "quarters": quarter_cells,
        "period": {"kind": p_kind, "start": p_start, "label": period_label, "total": cell(period_label, period_label,
                                                                                           span)},
        "factors": factor_rows,
        "target": {"region_rank": t_region, "nation_rank": t_nation},
        "benchmarks": len(bench),
    }


# ---- the answer sheets and their export ---------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """A customer's name as an export may show it: the surname and one * per further character (王小明 → 王**);
    a company or other name keeps its first character only."""
    name = (name or "").strip()
    if not name:
        return ""
    family = surname(name)
    if family and not name.isascii():
        return family + "*" * (len(name) - len(family))
    if family:
        return family + " *"
    return name[0] + "*" * min(len(name) - 1, 8)


def ssi_sheet_list(*, user, store, kind: str, start: dt.date, end: dt.date):
    """The store's scored answer sheets of `kind` answered in the business months [start, end) (the store is
    already scoped by the caller), oldest first, with their task, customer and vehicle."""
    require_perm(user, Perm.KPI_SET_TARGET)
    since, until = month_range(start)[0], month_range(month_add(end, -1))[1]
    return (
        AnswerSheet.objects.filter(store=store, template__kind=kind, answered_at__gte=since, answered_at__lt=until)
        .select_related("task__customer", "task__vehicle", "template")
        .order_by("answered_at", "pk")
    )


def _export_value(question_type: str, value):
    if isinstance(value, bool):
        return 1 if value else 0
    return value


def ssi_export_rows(*, user, store, kind: str, month: dt.date) -> tuple[list, list[list]]:
    """The carmaker's upload layout (docs/reports.md): one row per answer sheet of the month — dealer code, VIN,
    customer name masked, date answered (business day), questionnaire, then one column per question code holding
    the customer's answer (scale: the number given; yes / no: 1 / 0; a choice: its value; text as said; empty if
    not answered) and the total on the 1000-point scale last."""
    sheets = list(ssi_sheet_list(user=user, store=store, kind=kind, start=month, end=month_add(month, 1)))
    template_ids = {s.template_id for s in sheets}
    questions = list(
        Question.objects.filter(factor__template_id__in=template_ids)
        .order_by("factor__template__version", "factor__order", "order", "id")
        .values_list("id", "code", "type")
    )
    codes: list[str] = []
    for _pk, code, _type in questions:
        if code not in codes:
            codes.append(code)
    by_id = {pk: (code, qtype) for pk, code, qtype in questions}
    answers: dict[int, dict[str, object]] = defaultdict(dict)

    for sheet_id, question_id, value in Answer.objects.filter(sheet__in=[s.pk for s in sheets]).values_list(
        "sheet_id", "question_id", "value"
    ):
        code, qtype = by_id.get(question_id, (None, None))
        if code is not None and value is not None:
            answers[sheet_id][code] = _export_value(qtype, value)
    header = ["经销商代码 Dealer code", "VIN", "客户姓名 Customer", "回访日期 Date", "问卷 Questionnaire", *codes,
              "总分 Total"]
    rows = []
    for sheet in sheets:
        task = sheet.task
        rows.append([
            store.code,
            task.vehicle.vin if task.vehicle_id else "",
            mask_name(task.customer.name),
            business_date(sheet.answered_at),
            sheet.template.code,
            *[answers[sheet.pk].get(code) for code in codes],
            sheet.score_total,
        ])
    audit_event_record(actor=user, action=AuditAction.EXPORT, object_type="reports.ssi_export", store_id=store.pk,
                       detail={"kind": kind, "month": f"{month:%Y-%m}", "rows": len(rows)})
    return header, rows
