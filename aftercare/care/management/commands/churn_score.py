"""Daily: score every active customer with the newest churn-risk model and replace the `ChurnScore` table with the
scores (risk, reasons, model, `scored_on`) in one transaction; a rerun the same day writes the same rows.

    manage.py churn_score
    manage.py churn_score --today 2026-06-30
"""

import datetime as dt

from django.core.management.base import BaseCommand

from aftercare.care.services.churn import churn_scores_write
from aftercare.org.calendar import business_date


class Command(BaseCommand):
    help = "Score every active customer's churn risk with the newest trained model."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=dt.date.fromisoformat, help="Score as of this day (default today)")

    def handle(self, *args, **opts):
        today = opts["today"] or business_date()
        n = churn_scores_write(today=today)
        if n == 0:
            self.stdout.write("no model trained yet (manage.py churn_train) or no active customer: nothing scored")
        else:
            self.stdout.write(f"{n} active customers scored on {today}")
