"""Choices of the care app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerClass(models.TextChoices):
    """The classes of seed 000 p20 (客户分类): a customer is in exactly one at a time (`CareProfile`)."""

    NEW = "new", _("New (no counted visit yet)")
    LOYAL = "loyal", _("Loyal")
    REGULAR = "regular", _("Regular")
    LOST = "lost", _("Lost")


class LostRule(models.TextChoices):
    """Why a customer is lost (seed 000 p20, 流失客户的判别依据): the first rule that holds."""

    NO_VISIT = "no_visit", _("No maintenance or repair for 6+ months")
    ONCE_A_YEAR = "once_a_year", _("One visit a year")
    ONLY_INSPECTIONS = "only_inspections", _("Only inspections")
    REMINDED_NEVER_CAME = "reminded_never_came", _("Reminded but never came")
