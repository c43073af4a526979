"""Every quarter hour: send the marketing messages held in quiet hours that are now due, and queued messages a
killed run left unsent (`followups/services/outbound.py`). Safe to rerun: a message is sent once."""

from django.core.management.base import BaseCommand

from aftercare.followups.services.outbound import messages_release


class Command(BaseCommand):
    help = "Send held messages now due and queued messages left unsent."

    def handle(self, *args, **opts):
        self.stdout.write(f"sent {messages_release()} messages")
