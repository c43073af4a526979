from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import CleanTextMixin

from .choices import DepartmentKind, KpiPeriodKind, Role, SharedResource
from .kpis import KPI_TARGET_MAX, KPI_TARGET_MIN  # a target's widest range; each measure's unit narrows it

PHONE_REVEALS_PER_HOUR_DEFAULT = 60
PHONE_REVEALS_PER_HOUR_MAX = 10_000


class DealerGroup(CleanTextMixin, models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("dealer group")

    def __str__(self) -> str:
        return self.name


class Region(CleanTextMixin, models.Model):
    """A carmaker sales region (大区)."""

    group = models.ForeignKey(DealerGroup, on_delete=models.PROTECT, related_name="regions")
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("region")
        constraints = [models.UniqueConstraint(fields=["group", "code"], name="region_code_unique")]

    def __str__(self) -> str:
        return self.name


class Store(CleanTextMixin, models.Model):
    """A 4S store / ASC. Every store-owned row points here."""

    group = models.ForeignKey(DealerGroup, on_delete=models.PROTECT, related_name="stores")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="stores")
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    brand = models.CharField(_("brand"), max_length=50)
    customer_number_prefix = models.CharField(_("customer number prefix"), max_length=10, blank=True)
    next_customer_number = models.PositiveBigIntegerField(default=1, editable=False)
    # How many phone numbers one user may reveal per hour (customers.services.customer_phone_reveal).
    phone_reveals_per_hour = models.PositiveIntegerField(
        _("phone reveals per user per hour"),
        default=PHONE_REVEALS_PER_HOUR_DEFAULT,
        validators=[MinValueValidator(1), MaxValueValidator(PHONE_REVEALS_PER_HOUR_MAX)],
        help_text=_("How many customers' phone numbers one user may reveal in an hour; beyond that they are refused."),
    )

    class Meta:
        verbose_name = _("store")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(phone_reveals_per_hour__gte=1, phone_reveals_per_hour__lte=PHONE_REVEALS_PER_HOUR_MAX),
                name="store_phone_reveals_per_hour_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Department(CleanTextMixin, models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="departments")
    kind = models.CharField(_("kind"), max_length=30, choices=DepartmentKind.choices)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("department")
        constraints = [models.UniqueConstraint(fields=["store", "kind"], name="department_kind_unique")]

    def __str__(self) -> str:
        return self.name


class Staff(CleanTextMixin, models.Model):
    """A Django user working for the group: role, department and the stores they work in."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    group = models.ForeignKey(DealerGroup, on_delete=models.PROTECT, related_name="staff")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="staff"
    )
    stores = models.ManyToManyField(Store, related_name="staff", blank=True)
    display_name = models.CharField(_("name"), max_length=100)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()


class StoreSharing(models.Model):
    """A deliberate, configured share: staff of `to_store` may read `resource` of `from_store`."""

    from_store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="shares_given")
    to_store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="shares_received")
    resource = models.CharField(_("resource"), max_length=20, choices=SharedResource.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("store sharing")
        constraints = [
            models.UniqueConstraint(fields=["from_store", "to_store", "resource"], name="sharing_unique"),
            models.CheckConstraint(condition=~Q(from_store=models.F("to_store")), name="sharing_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.from_store_id} → {self.to_store_id}: {self.resource}"


class WorkCalendarDay(CleanTextMixin, models.Model):
    """An exception to the default calendar (China's statutory calendar, from `chinese-calendar`).

    `store` null = group-wide entry; a store row overrides it. Only days that differ
    from the statutory calendar need a row.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, null=True, blank=True, related_name="calendar_days")
    date = models.DateField(_("date"))
    is_workday = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("work calendar override")
        constraints = [
            models.UniqueConstraint(fields=["store", "date"], name="calendar_store_date_unique"),
            models.UniqueConstraint(
                fields=["date"], condition=Q(store__isnull=True), name="calendar_global_date_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {'workday' if self.is_workday else 'day off'}"


class KpiTarget(CleanTextMixin, models.Model):
    """A store's target for one measure of the KPI catalogue (`org/kpis.py`) in one month, quarter or year.

    `period_start` is the first day of the period (1st of the month, of the quarter's first month, 1 January).
    Resolution (most specific first): month → quarter → year → the measure's default (`selectors.kpi_target_for`).
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="kpi_targets")
    measure_code = models.CharField(_("measure"), max_length=80)
    period_kind = models.CharField(_("period"), max_length=10, choices=KpiPeriodKind.choices)
    period_start = models.DateField(_("period start"))
    value = models.DecimalField(_("target"), max_digits=12, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("KPI target")
        constraints = [
            models.UniqueConstraint(
                fields=["store", "measure_code", "period_kind", "period_start"], name="kpi_target_unique"
            ),
            models.CheckConstraint(
                condition=Q(value__gte=KPI_TARGET_MIN, value__lte=KPI_TARGET_MAX), name="kpi_target_value_range"
            ),
            models.CheckConstraint(
                condition=Q(period_kind__in=KpiPeriodKind.values), name="kpi_target_period_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.measure_code} {self.period_kind} {self.period_start}: {self.value}"

    def clean(self):
        from .kpis import measure_get, period_bounds

        super().clean()
        errors = {}
        measure = measure_get(self.measure_code or "")
        if measure is None:
            errors["measure_code"] = _("Unknown measure: %(code)s.") % {"code": self.measure_code}
        elif not measure.targetable:
            errors["measure_code"] = _("This measure takes no store target.")
        elif self.value is not None:
            low, high = measure.bounds
            if not low <= self.value <= high:
                errors["value"] = _("Enter a target between %(low)s and %(high)s.") % {
                    "low": f"{low:g}",
                    "high": f"{high:g}",
                }
        if self.period_start and self.period_kind in KpiPeriodKind.values:
            if period_bounds(self.period_kind, self.period_start)[0] != self.period_start:
                errors["period_start"] = _("A period starts on the first day of its month, quarter or year.")
        if errors:
            raise ValidationError(errors)
