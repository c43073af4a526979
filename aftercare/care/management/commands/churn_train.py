"""Train the churn-risk model on this database's history and print its backtest on a later period: trained on
monthly cutoffs whose 6-month labels end by the test cutoff (7 months ago), tested on the customers active then.

    manage.py churn_train
    manage.py churn_train --today 2026-06-30 --months 12

How a store checks its own figures: the printed AUC of the model against the rule "days since the last visit".
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from aftercare.care.services.churn import churn_model_train


class Command(BaseCommand):
    help = "Train the churn-risk model on the history and print its backtest (AUC vs days since the last visit)."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=dt.date.fromisoformat, help="Train as of this day (default today)")
        parser.add_argument("--months", type=int, default=18, help="Monthly training cutoffs (default 18)")

    def handle(self, *args, **opts):
        if not 1 <= opts["months"] <= 60:
            raise CommandError("--months must be between 1 and 60")
        try:
            row = churn_model_train(today=opts["today"], train_months=opts["months"])
        except ValueError as exc:
            raise CommandError(str(exc))
        m = row.metrics
        self.stdout.write(f"trained on {m['train_rows']} customer-months ({m['train_from']} – {m['train_until']}, "
                          f"{m['train_lost']:.1%} lost); tested on {m['test_rows']} customers active on "
                          f"{m['test_cutoff']} ({(m['test_lost'] or 0):.1%} lost within 6 months)")
        self.stdout.write(f"AUC model {m['auc_model']}, rule (days since the last visit) {m['auc_rule']}, "
                          f"gain {m['gain']}")
