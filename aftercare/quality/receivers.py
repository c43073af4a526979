"""Receivers of what the lower apps announce, connected in `QualityConfig.ready()`.

- `complaints.signals.feedback_recorded`: a complaint classed as product quality is handed over to quality as a
  draft parts-quality report of its store, in the complaint's transaction.
"""

from django.dispatch import receiver

from aftercare.complaints.choices import FeedbackCategory, FeedbackKind
from aftercare.complaints.signals import feedback_recorded


@receiver(feedback_recorded, dispatch_uid="quality.report_from_product_quality_complaint")
def report_from_product_quality_complaint(sender, *, feedback, actor, **kwargs):
    if feedback.category != FeedbackCategory.PRODUCT_QUALITY or feedback.kind == FeedbackKind.SUGGESTION:
        return None
    from .services.reports import quality_report_from_complaint

    return quality_report_from_complaint(actor=actor, feedback=feedback)
