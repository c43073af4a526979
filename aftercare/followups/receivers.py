"""Receivers of what the lower apps announce, connected in `FollowupsConfig.ready()`.

- `customers.signals.records_imported`: an import wrote deliveries or repair orders, so make the follow-up calls
  for the recent ones, in the import's transaction.
- `org.signals.store_created`: a new store starts with the default follow-up rules, in the creating transaction.
- `customers.signals.consent_changed` (channels): marketing consent withdrawn cancels the customer's pending
  marketing — open campaign-invitation tasks and queued or held marketing messages — at once.
"""

from django.dispatch import receiver

from aftercare.customers.signals import consent_changed, records_imported
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


# ---- channels: consent withdrawn ----
@receiver(consent_changed, dispatch_uid="followups.consent_changed.cancel_marketing")
def cancel_marketing_on_withdrawal(sender, *, customer, purpose, granted, source, **kwargs) -> None:
    """Marketing consent withdrawn: cancel the open campaign tasks and the pending marketing messages."""
    if purpose != "marketing" or granted:
        return
    from django.utils import timezone

    from .choices import ACTIVE_STATUSES, FollowupKind, TaskStatus
    from .models import FollowupTask
    from .services.outbound import marketing_pending_cancel

    FollowupTask.objects.filter(
        customer_id=customer.pk, kind=FollowupKind.CAMPAIGN, status__in=ACTIVE_STATUSES
    ).update(status=TaskStatus.CANCELLED, status_reason=f"consent_marketing withdrawn ({source})",
             completed_at=timezone.now(), updated_at=timezone.now())
    marketing_pending_cancel(customer_id=customer.pk)
# ---- end channels ----
