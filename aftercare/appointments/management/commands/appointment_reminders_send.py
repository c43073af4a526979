"""Daily: SMS reminders of tomorrow's appointments to customers who accept service calls; once per booking (and
start), each logged in the letter log.

    manage.py appointment_reminders_send
    manage.py appointment_reminders_send --today 2026-12-01

Idempotent: a rerun (also after a killed run) sends no reminder twice.
"""

import datetime as dt

from django.core.management.base import BaseCommand

from aftercare.appointments.services.messages import appointment_reminders_send


class Command(BaseCommand):
    help = "Send the SMS reminders of tomorrow's appointments."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=dt.date.fromisoformat,
                            help="Run as of this day (default: today in Asia/Shanghai)")

    def handle(self, *args, **opts):
        made = appointment_reminders_send(today=opts["today"])
        self.stdout.write(f"{made} reminders sent")
