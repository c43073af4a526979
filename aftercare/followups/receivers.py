"""Receivers of what the lower apps announce, connected in `FollowupsConfig.ready()`.

- `customers.signals.records_imported`: an import wrote deliveries or repair orders, so make the follow-up calls
  for the recent ones, in the import's transaction.
- `org.signals.store_created`: a new store starts with the default follow-up rules, in the creating transaction.
"""

from django.dispatch import receiver

from aftercare.customers.signals import records_imported
from aftercare.org.signals import store_created


@receiver(records_imported, dispatch_uid="followups.tasks_for_imported_records")
def tasks_for_imported_records(sender, *, store_id, kind, **kwargs):
    from .services.generation import followup_tasks_for_import

    return followup_tasks_for_import(store_id=store_id, kind=kind)


@receiver(store_created, dispatch_uid="followups.store_created.seed_default_rules")
def seed_default_rules(sender, *, store, **kwargs) -> None:
    """A new store starts with the default follow-up rules (SSI, CSI, verification, repeat repair …)."""
    from .services.rules import followup_rules_seed_defaults

    followup_rules_seed_defaults(store)
