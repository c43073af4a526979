"""Renewals answers the lower apps' signals: a policy import makes cases and closes renewed ones; a renewal call
claimed in the follow-up queue gives the case its holder; an insurance repair order settles claim assistance."""

from django.dispatch import receiver

from aftercare.dms.signals import policies_imported
from aftercare.followups.choices import FollowupKind
from aftercare.followups.signals import task_claimed


@receiver(policies_imported, dispatch_uid="renewals_policies_imported")
def on_policies_imported(sender, store_id, batch, **kwargs):
    """Once per policy import: the imported policies' cases, and the imported renewals close theirs."""
    from .services.generation import renewal_cases_generate, renewal_cases_match_renewals

    renewal_cases_generate(store_id=store_id, estimated=False)
    renewal_cases_match_renewals(store_id=store_id)


@receiver(task_claimed, dispatch_uid="renewals_task_claimed")
def on_task_claimed(sender, task, actor, holder, **kwargs):
    if task.kind != FollowupKind.RENEWAL:
        return
    from .services.work import renewal_task_claimed

    renewal_task_claimed(task=task, holder=holder)


# ---- claim assistance (api part): an imported insurance repair order settles it ------------------------------
from aftercare.customers.signals import records_imported  # noqa: E402


@receiver(records_imported, dispatch_uid="renewals_repair_orders_imported")
def on_repair_orders_imported(sender, store_id, kind, **kwargs):
    if kind != "repair_orders":
        return
    from .services.claims import claim_assists_settle

    claim_assists_settle(store_id=store_id)
