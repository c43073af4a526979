"""`manage.py data_quality_report`: problem counts and completeness score per store. Reads only."""

import json

from django.core.management.base import BaseCommand, CommandError

from aftercare.customers.selectors import DATA_QUALITY_KINDS, data_quality_store_summaries
from aftercare.org.models import Store


class Command(BaseCommand):
    help = (
        "Print data-quality problem counts (duplicates, customers without vehicle, vehicles without owner, "
        "missing fields) and the completeness score per store. Writes nothing; running it twice prints the same."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", action="append", metavar="CODE", help="only this store (repeatable)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print JSON instead of a table")

    def handle(self, *args, store=None, as_json=False, **options):
        stores = Store.objects.all()
        if store:
            stores = stores.filter(code__in=store)
            missing = sorted(set(store) - set(stores.values_list("code", flat=True)))
            if missing:
                raise CommandError(f"unknown store code(s): {', '.join(missing)}")
        summaries = data_quality_store_summaries(store_ids=stores.values_list("id", flat=True))
        if as_json:
            self._print_json(summaries)
        else:
            self._print_table(summaries)

    def _print_json(self, summaries) -> None:
        rows = [
            {
                "store": s.store.code,
                "customers": s.customers,
                "vehicles": s.vehicles,
                **s.counts,
                "flagged_customers": s.flagged_customers,
                "field_score": s.field_score,
                "mapping_score": s.mapping_score,
                "score": s.score,
            }
            for s in summaries
        ]
        self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))

    def _print_table(self, summaries) -> None:
        columns = ["store", "customers", "vehicles", *(k.code for k in DATA_QUALITY_KINDS), "score"]
        rows = [
            [
                s.store.code,
                str(s.customers),
                str(s.vehicles),
                *(str(s.counts[k.code]) for k in DATA_QUALITY_KINDS),
                "-" if s.score is None else f"{s.score:.1f}",
            ]
            for s in summaries
        ]
        widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)]
        self.stdout.write("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
        for row in rows:
            cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
            self.stdout.write("  ".join(cells))
        if not rows:
            self.stdout.write("No store.")
