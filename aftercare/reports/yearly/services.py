"""Generate a year report's file on demand (nothing is stored: the figures are read when asked for)."""

from .content import year_report
from .render import year_report_filename, year_report_pdf, year_report_xlsx


def year_report_file(*, store, year: int, fmt: str, language: str | None = None) -> tuple[bytes, str]:
    """(bytes, file name) of the year report of `store` for `year` as "pdf" or "xlsx"."""
    report = year_report(store=store, year=year, language=language)
    data = year_report_pdf(report) if fmt == "pdf" else year_report_xlsx(report)
    return data, year_report_filename(report, fmt)
