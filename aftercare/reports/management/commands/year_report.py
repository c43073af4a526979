"""The customer service department's year report of one store as files (docs/reports.md, "Year report"):

    manage.py year_report --store GZ01 --year 2026 --out DIR

writes DIR/year-report-GZ01-2026.pdf and .xlsx (the running year: to date)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from aftercare.org.models import Store
from aftercare.reports.yearly.forms import YEAR_MAX, YEAR_MIN
from aftercare.reports.yearly.services import year_report_file


class Command(BaseCommand):
    help = "Write a store's year report (PDF) and its tables (XLSX) to a directory."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="Store code")
        parser.add_argument("--year", required=True, type=int, help="Calendar year")
        parser.add_argument("--out", required=True, help="Directory to write to (created if missing)")
        parser.add_argument("--language", default=None, help="zh-hans (default) or en")
        parser.add_argument("--format", choices=["pdf", "xlsx", "both"], default="both")

    def handle(self, *args, **opts):
        store = Store.objects.filter(code=opts["store"]).first()
        if store is None:
            raise CommandError(f"Unknown store code: {opts['store']}")
        if not YEAR_MIN <= opts["year"] <= YEAR_MAX:
            raise CommandError(f"--year must be within {YEAR_MIN}–{YEAR_MAX}")
        out = Path(opts["out"])
        out.mkdir(parents=True, exist_ok=True)
        for fmt in ("pdf", "xlsx") if opts["format"] == "both" else (opts["format"],):
            data, name = year_report_file(store=store, year=opts["year"], fmt=fmt, language=opts["language"])
            (out / name).write_bytes(data)
            self.stdout.write(f"{out / name} ({len(data)} bytes)")
