"""What the year report says (docs/reports.md, "Year report"): the chapters of a customer-service department's
year report (seed 000) for one store and calendar year, each with its sentences, tables and charts.

Read as the mail reports are, by `mail.content.store_reader(store)` (a store manager of exactly that store): the
report is the same whoever generates it. Each chapter's figures come set-based from the apps' selectors and the
KPI catalogue (`org.kpis`: one computation per measure and month, and one for the year); targets from
`org.selectors.kpi_targets_resolved`. `YearReport.figures` keeps the raw numbers (tests and the XLSX read them);
the texts are written in `language` (default: the store's, settings.LANGUAGE_CODE)."""

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from aftercare.org.calendar import business_date, business_day_start, month_add
from aftercare.org.kpis import Level, Unit, measure_get, measures
from aftercare.org.selectors import kpi_judge, kpi_targets_resolved

from ..mail.content import handling_state, store_reader
from . import svg

logger = logging.getLogger(__name__)

CAMPAIGN_ROWS = 50  # at most this many campaigns of the year listed, each with its results


@dataclass
class Table:
    key: str
    title: str
    header: list
    rows: list


@dataclass
class Section:
    key: str
    title: str
    sentences: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    charts: list = field(default_factory=list)  # SVG markup


@dataclass
class YearReport:
    store: object
    year: int
    language: str
    generated_at: dt.datetime
    sections: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)


def fmt(value, unit: str = "") -> str:
    """A figure as the report prints it: "—" for none, "97.5%" for a percentage."""
    if value is None:
        return "—"
    if isinstance(value, Decimal) and value == value.to_integral_value() and value.as_tuple().exponent < 0:
        value = value.quantize(Decimal(1))  # a target of 58.00 prints 58
    if unit == Unit.PERCENT:
        return f"{value}%"
    return str(value)


EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_labels() -> list[str]:
    """Month names as the seed writes them (1月 … 12月), in English Jan … Dec."""
    if (translation.get_language() or "").startswith("zh"):
        return [f"{m}月" for m in range(1, 13)]
    return list(EN_MONTHS)


# ---- measures by month ---------------------------------------------------------------------------------------------


@dataclass
class MeasureYear:
    """One catalogue measure over the year: its value per month (None for months not begun), for the year (to
    date), the month targets and how many months met theirs."""

    measure: object
    months: list
    year: object
    targets: list
    met: int
    judged: int

    @property
    def unit(self) -> str:
        return self.measure.unit

    @property
    def target_text(self) -> str:
        return target_text(self.measure, self.targets)


def target_text(measure, targets: list) -> str:
    values = sorted({t for t in targets if t is not None})
    if not values:
        return _("not set")
    if len(values) == 1:
        return fmt(values[0], measure.unit)
    return f"{fmt(values[0], measure.unit)} – {fmt(values[-1], measure.unit)}"


def _value(measure, reader, store, start: dt.date, end: dt.date):
    try:
        rows = measure.compute(user=reader, store_ids=[store.pk], period_start=start, period_end=end)
    except Exception:  # one measure that fails leaves its cells empty; the report is still written
        logger.exception("measure %s failed in the year report of store %s", measure.code, store.pk)
        return None
    row = next((r for r in rows if r.store_id == store.pk and r.user_id is None), None)
    return row.value if row is not None else None


def measures_by_month(reader, store, year: int, codes, today: dt.date) -> dict[str, MeasureYear]:
    wanted = [m for m in (measure_get(c) for c in codes)
              if m is not None and m.compute is not None and Level.STORE in m.levels]
    months = [dt.date(year, k, 1) for k in range(1, 13)]
    targets = kpi_targets_resolved(user=reader, store_ids=[store.pk], measures=wanted, months=months)
    out = {}
    for measure in wanted:
        values, month_targets, met, judged = [], [], 0, 0
        for month in months:
            value = _value(measure, reader, store, month, month_add(month, 1)) if month <= today else None
            target = targets.get((store.pk, measure.code, month))
            month_targets.append(target.value if target is not None else None)
            running = today < month_add(month, 1)
            state = kpi_judge(measure, value, target, running=running).state
            if state in ("met", "missed"):
                judged += 1
                met += state == "met"
            values.append(value)
        start = dt.date(year, 1, 1)
        year_value = _value(measure, reader, store, start, dt.date(year + 1, 1, 1)) if start <= today else None
        out[measure.code] = MeasureYear(measure, values, year_value, month_targets, met, judged)
    return out


def measure_table(key: str, title: str, rows: dict[str, MeasureYear]) -> Table:
    header = [_("Measure"), *month_labels(), _("Year"), _("Target"), _("Months met")]
    body = [[str(m.measure.name), *[fmt(v, m.unit) for v in m.months], fmt(m.year, m.unit), m.target_text,
             f"{m.met}/{m.judged}" if m.judged else "—"] for m in rows.values()]
    return Table(key, title, header, body)


def measure_chart(m: MeasureYear | None, title: str) -> list[str]:
    if m is None or all(v is None for v in m.months):
        return []
    targets = {t for t in m.targets if t is not None}
    target = targets.pop() if len(targets) == 1 else None
    return [svg.bar_chart(month_labels(), m.months, title=title, target=target, target_label=_("Target"))]


def _figure(m: MeasureYear | None) -> dict:
    if m is None:
        return {}
    return {"months": m.months, "year": m.year, "targets": m.targets, "met": m.met, "judged": m.judged}


# ---- the report ----------------------------------------------------------------------------------------------------


def year_report(*, store, year: int, language: str | None = None, now: dt.datetime | None = None) -> YearReport:
    """The year report of `store` for calendar `year` (the running year: to date)."""
    language = language or settings.LANGUAGE_CODE
    now = now or timezone.now()
    reader = store_reader(store)
    report = YearReport(store, year, language, now)
    today = business_date(now)
    with translation.override(language):
        for chapter in (_followups, _ssi, _complaints, _renewals, _appointments, _care, _classes, _quality,
                        _targets):
            report.sections.append(chapter(report, reader, today))
    return report


def _bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    return business_day_start(dt.date(year, 1, 1)), business_day_start(dt.date(year + 1, 1, 1))


def _month_counts(qs, field_name: str, year: int, **filters: Q) -> dict[str, list[int]]:
    """{name: [count per month]} of `qs` by the month of `field_name` (Shanghai days), one query in all."""
    aggregates = {}
    for k in range(1, 13):
        start, end = business_day_start(dt.date(year, k, 1)), business_day_start(month_add(dt.date(year, k, 1), 1))
        span = Q(**{f"{field_name}__gte": start, f"{field_name}__lt": end})
        aggregates[f"all_{k}"] = Count("id", filter=span)
        for name, cond in filters.items():
            aggregates[f"{name}_{k}"] = Count("id", filter=span & cond)
    sums = qs.aggregate(**aggregates)
    return {name: [sums[f"{name}_{k}"] for k in range(1, 13)] for name in ["all", *filters]}


def _followups(report: YearReport, reader, today: dt.date) -> Section:
    from aftercare.followups.selectors import followup_task_list

    store, year = report.store, report.year
    tasks = followup_task_list(user=reader, store_ids=[store.pk])
    created = _month_counts(tasks, "created_at", year)["all"]
    closed = _month_counts(tasks, "completed_at", year, completed=Q(status="completed"),
                           unreachable=Q(status="unreachable"))
    kpis = measures_by_month(reader, store, year, ("followups.return_visit_rate",), today)
    rvr = kpis.get("followups.return_visit_rate")
    figures = {"created": sum(created), "closed": sum(closed["all"]), "completed": sum(closed["completed"]),
               "unreachable": sum(closed["unreachable"]), "closed_by_month": closed["all"],
               "return_visit_rate": _figure(rvr)}
    report.figures["followups"] = figures
    section = Section("followups", _("Follow-up work and the return-visit rate"))
    section.sentences.append(
        _("Follow-up calls closed in %(year)s: %(closed)s (completed: %(completed)s, unreachable: "
          "%(unreachable)s); created: %(created)s.") % {"year": year, **figures})
    if rvr is not None:
        section.sentences.append(
            _("The return-visit rate was %(rate)s over the year against a target of %(target)s; months that met "
              "the target: %(met)s of %(judged)s.")
            % {"rate": fmt(rvr.year, rvr.unit), "target": rvr.target_text, "met": rvr.met, "judged": rvr.judged})
    rows = [[label, created[i], closed["all"][i], closed["completed"][i], closed["unreachable"][i],
             fmt(rvr.months[i], rvr.unit) if rvr else "—"] for i, label in enumerate(month_labels())]
    rows.append([_("Year"), figures["created"], figures["closed"], figures["completed"], figures["unreachable"],
                 fmt(rvr.year, rvr.unit) if rvr else "—"])
    section.tables.append(Table("followups", _("Follow-up calls by month"),
                                [_("Month"), _("Created"), _("Closed"), _("Completed"), _("Unreachable"),
                                 _("Return-visit rate")], rows))
    section.charts += measure_chart(rvr, _("Return-visit rate by month (%)"))
    return section


def _ssi(report: YearReport, reader, today: dt.date) -> Section:
    from .. import ssi

    section = Section("ssi", _("SSI and CSI by month against region and nation"))
    report.figures["ssi"] = {}
    for kind in ssi.KINDS:
        data = ssi.ssi_comparison(store=report.store, kind=kind, year=report.year)
        label = str(ssi.KINDS[kind])
        months = data["months"]
        shown = [c["shown"] for c in months]
        with_store = [c for c in months if c["shown"] is not None]
        fig = {"store": shown, "region": [c["region"] for c in months], "nation": [c["nation"] for c in months]}
        report.figures["ssi"][kind] = fig
        if not with_store and all(v is None for v in fig["region"]):
            section.sentences.append(_("%(survey)s: no scores for this year.") % {"survey": label})
            continue
        q = [c for c in data["quarters"] if c["shown"] is not None]
        values = {
            "survey": label,
            "avg": fmt(_avg(c["shown"] for c in with_store)),
            "region": fmt(_avg(c["region"] for c in months if c["region"] is not None)),
            "nation": fmt(_avg(c["nation"] for c in months if c["nation"] is not None)),
            "best": max(with_store, key=lambda c: c["shown"])["label"] if with_store else "—",
            "rank": fmt(next((c["region_rank"] for c in reversed(months) if c["region_rank"]), None)),
            "target": fmt(data["target"]["region_rank"]),
        }
        section.sentences.append(
            _("%(survey)s: the store averaged %(avg)s over the year (region %(region)s, nation %(nation)s); its best "
              "month was %(best)s; its latest rank in the region is %(rank)s (target %(target)s).") % values)
        if q:
            section.sentences.append(
                _("By quarter: %(quarters)s.") % {"quarters": ", ".join(f"{c['label']} {c['shown']}" for c in q)})
        section.tables.append(Table(
            f"ssi_{kind}", _("%(survey)s by month") % {"survey": label},
            [_("Month"), _("Store (carmaker)"), _("Store (answer sheets)"), _("Sheets"), _("Region"), _("Nation"),
             _("Rank in region"), _("Rank in nation")],
            [[lab, fmt(c["carmaker"]), fmt(c["own"]), c["own_count"], fmt(c["region"]), fmt(c["nation"]),
              fmt(c["region_rank"]), fmt(c["nation_rank"])] for lab, c in zip(month_labels(), months, strict=True)]))
        section.charts.append(svg.line_chart(
            month_labels(), [(_("Store"), shown), (_("Region average"), fig["region"]),
                             (_("National average"), fig["nation"])],
            title=_("%(survey)s: the store against region and nation") % {"survey": label}))
    return section


def _avg(values):
    values = [Decimal(v) for v in values if v is not None]
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.1")) if values else None


def _complaints(report: YearReport, reader, today: dt.date) -> Section:
    from aftercare.complaints.choices import FeedbackCategory, FeedbackKind
    from aftercare.complaints.selectors import feedback_list

    since, until = _bounds(report.year)
    qs = feedback_list(user=reader, store_ids=[report.store.pk], since=since, until=until)
    kinds = Counter(dict(qs.order_by().values_list("kind").annotate(n=Count("id"))))
    categories = Counter(dict(qs.order_by().values_list("category").annotate(n=Count("id"))))
    by_month = _month_counts(qs, "created_at", report.year)["all"]
    states = Counter(handling_state(fb, report.generated_at) for fb in
                     qs.select_related(None).only("id", "first_returned_in_time", "deadline_at", "paused_at"))
    codes = [m.code for m in measures(app="complaints")]
    kpis = measures_by_month(reader, report.store, report.year, codes, today)
    total = sum(kinds.values())
    figures = {"total": total, **{k: kinds.get(k, 0) for k in FeedbackKind.values}, "by_month": by_month,
               "categories": dict(categories), "in_time": states["in_time"], "late": states["late"],
               "overdue": states["overdue"], "kpis": {c: _figure(m) for c, m in kpis.items()}}
    report.figures["complaints"] = figures
    section = Section("complaints", _("Complaints and their measures"))
    section.sentences.append(
        _("Complaint forms recorded in %(year)s: %(total)s (complaints: %(complaint)s, grievances: %(grievance)s, "
          "suggestions: %(suggestion)s); handled in time: %(in_time)s, late: %(late)s, overdue: %(overdue)s.")
        % {"year": report.year, "complaint": figures.get("complaint", 0), "grievance": figures.get("grievance", 0),
           "suggestion": figures.get("suggestion", 0), **figures})
    timeliness = kpis.get("complaints.timeliness")
    if timeliness is not None:
        section.sentences.append(
            _("Timeliness of handling was %(rate)s against a target of %(target)s.")
            % {"rate": fmt(timeliness.year, timeliness.unit), "target": timeliness.target_text})
    labels = dict(FeedbackCategory.choices)
    kind_labels = dict(FeedbackKind.choices)
    section.tables.append(Table("complaints_month", _("Complaint forms by month"), [_("Month"), _("Forms")],
                                [[lab, n] for lab, n in zip(month_labels(), by_month, strict=True)]
                                + [[_("Year"), total]]))
    section.tables.append(Table(
        "complaints_kind", _("Complaint forms by kind and category"), [_("Kind or category"), _("Forms")],
        [[str(kind_labels.get(k, k)), n] for k, n in sorted(kinds.items())]
        + [[str(labels.get(c, c)), n] for c, n in categories.most_common()]))
    section.tables.append(measure_table("complaints_kpis", _("Complaint measures by month"), kpis))
    if total:
        section.charts.append(svg.bar_chart(month_labels(), by_month, title=_("Complaint forms by month")))
    return section


def _renewals(report: YearReport, reader, today: dt.date) -> Section:
    codes = ("renewals.renewal_rate", "renewals.renewal_count", "renewals.renewal_premium",
             "renewals.new_car_policy_count", "renewals.new_car_policy_premium",
             "renewals.renewal_effective_contact_rate")
    kpis = measures_by_month(reader, report.store, report.year, codes, today)
    report.figures["renewals"] = {c: _figure(m) for c, m in kpis.items()}
    section = Section("renewals", _("Renewals by month"))
    rate, count, premium = (kpis.get(f"renewals.{c}") for c in ("renewal_rate", "renewal_count", "renewal_premium"))
    if rate is not None and count is not None and premium is not None:
        section.sentences.append(
            _("Policies renewed in %(year)s: %(count)s, for a premium of %(premium)s ten-thousand yuan; the renewal "
              "rate was %(rate)s against a target of %(target)s.")
            % {"count": fmt(count.year), "year": report.year, "premium": fmt(premium.year),
               "rate": fmt(rate.year, rate.unit), "target": rate.target_text})
    section.tables.append(measure_table("renewals", _("Renewal measures by month"), kpis))
    section.charts += measure_chart(rate, _("Renewal rate by month (%)"))
    section.charts += measure_chart(premium, _("Renewal premium by month (¥10,000)"))
    return section


def _range_sentence(m: MeasureYear | None, what: str) -> str | None:
    if m is None:
        return None
    values = [v for v in m.months if v is not None]
    if not values:
        return _("%(what)s: no figures for this year.") % {"what": what}
    return (_("%(what)s ranged from %(low)s to %(high)s by month and was %(year)s over the year (target "
              "%(target)s).")
            % {"what": what, "low": fmt(min(values), m.unit), "high": fmt(max(values), m.unit),
               "year": fmt(m.year, m.unit), "target": m.target_text})


def _appointments(report: YearReport, reader, today: dt.date) -> Section:
    codes = ("appointments.appointment_rate", "appointments.show_rate", "appointments.no_show_rate",
             "appointments.bay_use")
    kpis = measures_by_month(reader, report.store, report.year, codes, today)
    report.figures["appointments"] = {c: _figure(m) for c, m in kpis.items()}
    section = Section("appointments", _("Appointments by month"))
    rate = kpis.get("appointments.appointment_rate")
    sentence = _range_sentence(rate, _("The appointment rate"))
    if sentence:
        section.sentences.append(sentence)
    section.tables.append(measure_table("appointments", _("Appointment measures by month"), kpis))
    section.charts += measure_chart(rate, _("Appointment rate by month (%)"))
    return section


def _care(report: YearReport, reader, today: dt.date) -> Section:
    from aftercare.care.selectors import campaign_list, campaign_results

    codes = ("care.reminder_success_rate", "care.campaign_reach_rate", "care.campaign_come_rate")
    kpis = measures_by_month(reader, report.store, report.year, codes, today)
    campaigns = list(campaign_list(user=reader, store_ids=[report.store.pk])
                     .filter(event_start__year=report.year).order_by("event_start", "id")[:CAMPAIGN_ROWS])
    rows, came = [], 0
    for campaign in campaigns:
        results = campaign_results(user=reader, campaign=campaign)
        came += results["came"]
        rows.append([campaign.name, f"{campaign.event_start:%Y-%m-%d} – {campaign.event_end:%Y-%m-%d}",
                     results["targeted"], results["reached"], results["invited"], results["came"],
                     results["revenue"].quantize(Decimal("0.01"))])
    report.figures["care"] = {"kpis": {c: _figure(m) for c, m in kpis.items()}, "campaigns": len(campaigns),
                              "came": came}
    section = Section("care", _("Customer care and campaigns"))
    sentence = _range_sentence(kpis.get("care.reminder_success_rate"), _("The reminders' success rate"))
    if sentence:
        section.sentences.append(sentence)
    section.sentences.append(
        _("Campaigns held: %(n)s; invited customers who came: %(came)s.") % {"n": len(campaigns), "came": came})
    section.tables.append(measure_table("care", _("Care measures by month"), kpis))
    section.tables.append(Table("campaigns", _("Campaigns of the year"),
                                [_("Campaign"), _("Dates"),
                                 _("Targeted"), _("Reached"), _("Invited"), _("Came"), _("Revenue (¥)")], rows))
    section.charts += measure_chart(kpis.get("care.reminder_success_rate"),
                                    _("Reminders' success rate by month (%)"))
    return section


def _classes(report: YearReport, reader, today: dt.date) -> Section:
    from aftercare.care.choices import CustomerClass
    from aftercare.care.selectors import class_flows_months

    count = 12 if today.year > report.year else max(today.month if today.year == report.year else 0, 0)
    months = class_flows_months(user=reader, first=dt.date(report.year, 1, 1), count=count,
                                store_ids=[report.store.pk]) if count else []
    kpis = measures_by_month(reader, report.store, report.year, ("care.churn_rate", "care.loyal_share"), today)
    churned = sum(m["churned"] for m in months)
    end = months[-1]["end"] if months else {}
    report.figures["classes"] = {"churned": churned, "base": months[0]["base"] if months else 0,
                                 "end": dict(end), "kpis": {c: _figure(m) for c, m in kpis.items()}}
    section = Section("classes", _("Customer classes and churn"))
    churn = kpis.get("care.churn_rate")
    section.sentences.append(
        _("Moves to lost, summed over the months: %(churned)s, from a base of %(base)s at the year's start; the "
          "churn rate was %(rate)s against a target of %(target)s.")
        % {"churned": churned, "base": report.figures["classes"]["base"],
           "rate": fmt(churn.year, churn.unit) if churn else "—", "target": churn.target_text if churn else "—"})
    labels = dict(CustomerClass.choices)
    header = [_("Month"), _("Base at start"), _("Lost"), _("Churn rate"), _("Loyal share"),
              *[str(labels[c]) for c in labels]]
    rows = [[lab, m["base"], m["churned"], fmt(m["churn_rate"], Unit.PERCENT), fmt(m["loyal_share"], Unit.PERCENT),
             *[m["end"].get(c, 0) for c in labels]] for lab, m in zip(month_labels(), months, strict=False)]
    section.tables.append(Table("classes", _("Customer classes by month (at month end)"), header, rows))
    section.tables.append(measure_table("classes_kpis", _("Churn measures by month"), kpis))
    section.charts += measure_chart(churn, _("Churn rate by month (%)"))
    return section


def _quality(report: YearReport, reader, today: dt.date) -> Section:
    from aftercare.customers.selectors import data_quality_store_summaries

    summary = data_quality_store_summaries(store_ids=[report.store.pk])[0]
    report.figures["quality"] = {"customers": summary.customers, "vehicles": summary.vehicles,
                                 "score": summary.score, "field_score": summary.field_score,
                                 "mapping_score": summary.mapping_score,
                                 "counts": {k.code: n for k, n in summary.count_rows()}}
    section = Section("quality", _("Customer data quality"))
    section.sentences.append(
        _("On %(day)s the store holds customers: %(customers)s, vehicles: %(vehicles)s; the data quality score is "
          "%(score)s (required fields %(field)s, customer-vehicle mapping %(mapping)s).")
        % {"day": f"{today:%Y-%m-%d}", "customers": summary.customers, "vehicles": summary.vehicles,
           "score": fmt(summary.score, Unit.PERCENT), "field": fmt(summary.field_score, Unit.PERCENT),
           "mapping": fmt(summary.mapping_score, Unit.PERCENT)})
    section.tables.append(Table("quality", _("Data problems"), [_("Problem"), _("Count")],
                                [[str(k.label), n] for k, n in summary.count_rows()]))
    return section


def _targets(report: YearReport, reader, today: dt.date) -> Section:
    year = report.year + 1
    wanted = [m for m in measures() if Level.STORE in m.levels and m.compute is not None]
    months = [dt.date(year, k, 1) for k in range(1, 13)]
    targets = kpi_targets_resolved(user=reader, store_ids=[report.store.pk], measures=wanted, months=months)
    rows, set_count = [], 0
    for m in wanted:
        values = [t.value if (t := targets.get((report.store.pk, m.code, month))) is not None else None
                  for month in months]
        text = target_text(m, values)
        set_count += any(v is not None for v in values)
        rows.append([str(m.name), str(m.direction_label), str(m.unit_label), text])
    report.figures["targets"] = {"set": set_count, "measures": len(wanted)}
    section = Section("targets", _("Targets for %(year)s") % {"year": year})
    section.sentences.append(
        _("Store measures with a target for %(year)s: %(set)s of %(n)s.")
        % {"set": set_count, "n": len(wanted), "year": year})
    section.tables.append(Table("targets", _("Targets for %(year)s") % {"year": year},
                                [_("Measure"), _("Direction"), _("Unit"), _("Target")], rows))
    return section
