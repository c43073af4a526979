"""`manage.py complaints_escalate`: send due-soon warnings and escalate overdue complaint forms (run hourly)."""

from django.core.management.base import BaseCommand

from aftercare.complaints.services.escalation import feedback_escalations_run


class Command(BaseCommand):
    help = (
        "Warn handlers of complaint forms that are due soon, escalate overdue ones to the next tier and deliver "
        "pending notifications. Safe to rerun: nobody is told twice."
    )

    def handle(self, *args, **options):
        counts = feedback_escalations_run()
        self.stdout.write(f"warned={counts['warned']} escalated={counts['escalated']} notified={counts['notified']}")
