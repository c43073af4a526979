"""Issue 18's backtest of the churn-risk model on the demo order generator's own history, in memory (no database):
per generator seed, `care_churn.demo_backtest` plans a store's customers with `customers.generate_chunk` (which
applies the hidden churn process), tests on the customers active 6 months before today and their 6 months to
today, and trains on the monthly cutoffs before. Output and pass line as `churn_backtest` (whose command this is).

    manage.py demo_churn_backtest                  # 5 seeds, 3,000 customers each, the demo's 18 months
    manage.py demo_churn_backtest --seeds 1 --customers 500 --months 36
"""

import datetime as dt

from django.core.management.base import CommandError

from aftercare.care.management.commands.churn_backtest import Command as ChurnBacktestCommand
from aftercare.demo.care_churn import demo_backtest
from aftercare.org.calendar import business_day_start


class Command(ChurnBacktestCommand):
    help = "Backtest the churn-risk model on the demo generator's history (AUC vs the days-since-last-visit rule)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--months", type=int, default=18,
                            help="Months of history ending today (the demo: 18; at least 15)")
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None,
                            help="The history ends at 00:00 of this day (YYYY-MM-DD; default: now)")

    def handle(self, *args, **opts):
        if opts["months"] < 15:
            raise CommandError("--months must be at least 15 (6 months of test, 6 of training labels, 3 of history)")
        super().handle(*args, **opts)

    def backtest(self, seed: int, opts: dict) -> dict:
        now = business_day_start(opts["today"]) if opts["today"] else None
        return demo_backtest(seed, customers=opts["customers"], months=opts["months"], now=now)
