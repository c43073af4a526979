"""A report's files: the PDF (WeasyPrint with Noto Sans CJK SC, as the complaint form's PDF) and the XLSX
(`core.exports`, the one XLSX writer). Both are written in the store's language (settings.LANGUAGE_CODE)."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from aftercare.core.exports import xlsx_workbook_bytes
from aftercare.core.pdf import html_to_pdf

from .content import ReportContent


def state_label(state: str) -> str:
    labels = {
        "in_time": _("Handled in time"), "late": _("Handled late"), "overdue": _("Overdue"),
        "paused": _("Clock paused"), "open": _("Within deadline"), "unrouted": _("Not routed"),
        "met": _("met"), "missed": _("missed"), "running": _("running"), "none": "—",
    }
    return labels.get(state, state)


def report_title(content: ReportContent) -> str:
    who = content.department.name if content.department is not None else _("Store manager")
    kind = _("Weekly report") if content.kind == "weekly" else _("Monthly report")
    return f"{content.store.name} · {who} · {kind}"


def report_pdf(content: ReportContent) -> bytes:
    with translation.override(settings.LANGUAGE_CODE):
        for row in content.complaint_rows:
            row["state_label"] = state_label(row["state"])
        for row in content.kpi_rows:
            row["state_label"] = state_label(row["state"])
        html = render_to_string("reports/pdf/mail_report.html", {"c": content, "title": report_title(content)})
    return html_to_pdf(html)


def report_xlsx(content: ReportContent) -> bytes:
    with translation.override(settings.LANGUAGE_CODE):
        c, f = content.complaints, content.followups
        summary = [
            [_("Report"), report_title(content)],
            [_("Period"), f"{content.period_start:%Y-%m-%d} – {content.period_end:%Y-%m-%d}"],
            [_("Complaint forms"), c["total"]],
            [_("Handled in time"), c["in_time"]],
            [_("Handled late"), c["late"]],
            [_("Overdue"), c["overdue"]],
            [_("Still open"), c["open"]],
            [_("Timeliness (%)"), c["timeliness"]],
            [_("Follow-up calls closed"), f["closed"]],
            [_("Questionnaires answered"), f["sheets"]],
            [_("Average score"), f["score_avg"]],
            [_("Dissatisfied answers"), f["dissatisfied"]],
        ]
        complaints = [[_("Form"), _("Recorded"), _("Kind"), _("Category"), _("Severity"), _("Department"),
                       _("Customer"), _("Status"), _("Deadline"), _("Returned"), _("Handling"), _("Result")]]
        complaints += [[r["id"], r["created_at"], r["kind"], r["category"], r["severity"], r["department"],
                        r["customer"], r["status"], r["deadline_at"], r["returned_at"], state_label(r["state"]),
                        r["result"]] for r in content.complaint_rows]
        dissatisfied = [[_("Answered"), _("Customer"), _("Call"), _("Score"), _("Reasons"), _("Notes"), _("Form")]]
        dissatisfied += [[r["answered_at"], r["customer"], r["call"], r["score"], r["reasons"], r["notes"],
                          r["form_id"]] for r in content.dissatisfied_rows]
        kpis = [[_("Code"), _("Measure"), _("Unit"), _("Value"), _("Target"), _("Gap"), _("State")]]
        kpis += [[r["code"], r["name"], r["unit"], r["value"], r["target"], r["gap"], state_label(r["state"])]
                 for r in content.kpi_rows]
        actions = [[_("Action"), _("Source"), _("Source detail"), _("Owner"), _("Due date"), _("Status"),
                    _("Overdue")]]
        actions += [[r["title"], r["source"], r["source_detail"], r["owner"], r["due_date"], r["status"],
                     _("yes") if r["overdue"] else ""] for r in content.action_rows]
        data, _n = xlsx_workbook_bytes([
            (_("Summary"), summary), (_("Complaints"), complaints), (_("Dissatisfied"), dissatisfied),
            (_("Measures"), kpis), (_("Rectification actions"), actions),
        ])
    return data
