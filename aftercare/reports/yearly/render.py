"""The year report's files: the PDF (WeasyPrint with Noto Sans CJK SC, as the mailed reports: a cover, a chapter per
section of seed 000 with its sentences, SVG charts and tables) and its XLSX appendix (`core.exports`: a summary
sheet and one sheet per table)."""

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from aftercare.core.exports import xlsx_workbook_bytes
from aftercare.core.pdf import html_to_pdf

from .content import YearReport


def report_title(report: YearReport) -> str:
    with translation.override(report.language):
        return _("%(store)s · Customer service department · Year report %(year)s") % {
            "store": report.store.name, "year": report.year}


def year_report_pdf(report: YearReport) -> bytes:
    with translation.override(report.language):
        html = render_to_string("reports/pdf/year_report.html", {"r": report, "title": report_title(report)})
    return html_to_pdf(html)


def sheet_title(text: str, used: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    clean = "".join(" " if ch in '[]:*?/\\' else ch for ch in text).strip()[:31] or "Sheet"
    name, k = clean, 2
    while name.lower() in used:
        suffix = f" ({k})"
        name, k = clean[:31 - len(suffix)] + suffix, k + 1
    used.add(name.lower())
    return name


def year_report_xlsx(report: YearReport) -> bytes:
    with translation.override(report.language):
        used: set[str] = set()
        summary = [[_("Report"), report_title(report)], [_("Generated"), f"{report.generated_at:%Y-%m-%d %H:%M}"]]
        for section in report.sections:
            summary.append([section.title, " ".join(section.sentences)])
        sheets = [(sheet_title(_("Summary"), used), summary)]
        for section in report.sections:
            for table in section.tables:
                sheets.append((sheet_title(table.title, used), [table.header, *table.rows]))
        data, _n = xlsx_workbook_bytes(sheets)
    return data


def year_report_filename(report: YearReport, fmt: str) -> str:
    return f"year-report-{report.store.code}-{report.year}.{fmt}"
