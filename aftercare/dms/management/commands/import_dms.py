"""`manage.py import_dms --store CODE --kind KIND FILE [--dry-run]`.

Progress bar on stderr; one last stdout line `created=N updated=N unchanged=N rejected=N`.
Exit 0 when no row was rejected, 1 when some were, 2 on a usage or file error.
"""

import sys
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from aftercare.dms.choices import ImportKind
from aftercare.dms.readers import ImportFileError
from aftercare.dms.services import CHUNK_SIZE, import_file
from aftercare.org.models import Store

SHOW_ERRORS = 20


class ProgressBar:
    """A tiny progress bar: redrawn in place on a terminal, a line per 10 % otherwise."""

    def __init__(self, stream, width: int = 30):
        self.stream = stream
        self.width = width
        self.started = time.monotonic()
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        total = max(total, done, 1)
        share = done / total
        rate = done / max(time.monotonic() - self.started, 1e-6)
        filled = int(share * self.width)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {share:4.0%} {done:,}/{total:,} rows {rate:,.0f} rows/s"
        if self.tty:
            self.stream.write("\r" + line)
        elif int(share * 10) != self.last_decile:
            self.last_decile = int(share * 10)
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


class Command(BaseCommand):
    help = "Import a DMS export (CSV in UTF-8/GB18030, or XLSX) into a store."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV or XLSX file")
        parser.add_argument("--store", required=True, help="store code, e.g. A01")
        parser.add_argument("--kind", required=True, choices=ImportKind.values)
        parser.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
        parser.add_argument("--user", help="username recorded as the importer (default: none, a system import)")
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help="rows per transaction")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **opts):
        store = Store.objects.filter(code=opts["store"]).first()
        if store is None:
            raise CommandError(f"Unknown store code: {opts['store']}", returncode=2)
        actor = None
        if opts["user"]:
            actor = get_user_model().objects.filter(username=opts["user"]).first()
            if actor is None:
                raise CommandError(f"Unknown user: {opts['user']}", returncode=2)
        if opts["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1", returncode=2)
        bar = None if opts["no_progress"] else ProgressBar(self.stderr._out)
        try:
            batch = import_file(
                actor=actor,
                store=store,
                kind=opts["kind"],
                path=opts["file"],
                dry_run=opts["dry_run"],
                progress=bar,
                chunk_size=opts["chunk_size"],
            )
        except ImportFileError as exc:
            raise CommandError(str(exc), returncode=2)
        finally:
            if bar:
                bar.close()
        for error in batch.row_errors.all()[:SHOW_ERRORS]:
            self.stderr.write(f"row {error.row}, {error.column}: {error.reason}")
        if batch.rejected_count > SHOW_ERRORS:
            self.stderr.write(f"… see import #{batch.pk} for the full error report")
        self.stdout.write(
            f"created={batch.created_count} updated={batch.updated_count} "
            f"unchanged={batch.unchanged_count} rejected={batch.rejected_count}"
        )
        if batch.rejected_count:
            sys.exit(1)
