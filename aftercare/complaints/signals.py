"""Receivers of what the lower apps announce, connected in `ComplaintsConfig.ready()`, and the signal complaints
sends for the apps above it.

- `feedback_recorded(feedback, actor)`: a feedback form was recorded (sent by `services.workflow.feedback_create`
  inside its transaction: a receiver that raises rolls the form back). `quality.receivers` hands a product-quality
  complaint over as a draft parts-quality report.

- `followups.signals.call_feedback_given`: what a customer said on a call becomes a feedback form, in the
  call's transaction (a bad form rolls the call back and the call screen shows the error).
- `dms.signals.repair_orders_imported`: an import wrote repair orders, so look for repeat repairs (first-time fix).
"""

from django.dispatch import Signal, receiver

from aftercare.dms.signals import repair_orders_imported
from aftercare.followups.signals import call_feedback_given

from .choices import FeedbackKind, FeedbackSeverity, FeedbackSource

feedback_recorded = Signal()  # (feedback, actor), in the writing transaction


@receiver(call_feedback_given, dispatch_uid="complaints.feedback_from_call")
def feedback_from_call(sender, *, actor, call, task, sheet, inbound, customer, vehicle, feedback, **kwargs):
    from .services.workflow import feedback_create

    return feedback_create(
        actor=actor,
        customer=customer,
        vehicle=vehicle,
        kind=feedback.get("kind") or (FeedbackKind.COMPLAINT if inbound else ""),
        severity=feedback.get("severity") or FeedbackSeverity.NORMAL,
        source=FeedbackSource.INBOUND_CALL if inbound else FeedbackSource.FOLLOWUP_CALL,
        category=feedback.get("category") or "",
        department=feedback.get("department"),
        text=feedback.get("text") or "",
        followup_task=task,
        answer_sheet=sheet,
        call_log=call,
    )


@receiver(repair_orders_imported, dispatch_uid="complaints.repeat_repairs_after_import")
def repeat_repairs_after_import(sender, *, store_id, **kwargs):
    # once per import, not per chunk (each run re-reads the store's recent orders); a crash before this is
    # caught by the daily `repeat_repairs_detect`.
    from .services.first_time_fix import repeat_repairs_detect

    return repeat_repairs_detect(store_id=store_id)
