"""Reports' rows (docs/reports.md)."""

# ---- mail: reports by mail (issue 19) ----
from .mail_models import Report, ReportDelivery, ReportKind  # noqa: E402,F401

# ---- end mail ----
