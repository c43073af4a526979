"""What care answers of the lower apps' signals (connected in `CareConfig.ready()`):

- `org.signals.store_created`: a new store starts with the default reminder rules, in the creating transaction.
"""

from django.dispatch import receiver

from aftercare.org.signals import store_created


@receiver(store_created, dispatch_uid="care.store_created.seed_reminder_rules")
def seed_reminder_rules(sender, *, store, **kwargs) -> None:
    """A new store starts with the default reminder rules (docs/care.md, "Reminders")."""
    from .services.remind import reminder_rules_ensure

    reminder_rules_ensure([store.pk])
