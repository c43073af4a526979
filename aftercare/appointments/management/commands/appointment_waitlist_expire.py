"""Hourly: waitlist offers not taken in time expire, and the next customer waiting for that day is offered.

    manage.py appointment_waitlist_expire
"""

from django.core.management.base import BaseCommand

from aftercare.appointments.services.waitlist import waitlist_offers_expire


class Command(BaseCommand):
    help = "Expire the waitlist offers not taken in time and offer the next customers waiting."

    def handle(self, *args, **opts):
        expired = waitlist_offers_expire()
        self.stdout.write(f"{expired} offers expired")
