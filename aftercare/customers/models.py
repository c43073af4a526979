from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftercare.core.constraints import CompositeForeignKey
from aftercare.core.models import StoreOwnedModel

from .choices import (
    BackgroundCategory,
    ConsentPurpose,
    ConsentSource,
    CustomerSource,
    MileageSource,
    PolicyKind,
    RepairKind,
)


def customer_of_the_store(name: str) -> CompositeForeignKey:
    """(store, customer) → Customer (store, id): the row's customer is one of the row's own store.

    It stands for the keys of `store` and `customer`, both declared `db_constraint=False` (see
    `CompositeForeignKey`): the customer's own key makes the store a real one.
    """
    return CompositeForeignKey(
        fields=["store", "customer"], to_fields=["store", "id"], name=name,
        violation_error_message=_("The customer is not a customer of this store."),
    )


def store_checked_by_customer() -> models.ForeignKey:
    """The `store` of a row whose customer key `customer_of_the_store` checks it (no index of its own: each of
    these tables has one that leads with the store, or is reached through its vehicle or customer)."""
    return models.ForeignKey(
        "org.Store", on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )


class Customer(StoreOwnedModel):
    """A customer file (客户档案). `number` is allocated per store by `customer_create`.

    Indexes: only those a query needs (an import writes 250 k customers in a minute, each index is
    work on every insert): the store's lookups are served by the (store, …) ones.
    """

    # no index of its own: (store, number) leads with it
    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="+", db_index=False)
    number = models.CharField(_("customer number"), max_length=30)
    dms_code = models.CharField(_("DMS customer code"), max_length=50, null=True, blank=True)
    name = models.CharField(_("name"), max_length=100)
    mobile = models.CharField(
        _("mobile"), max_length=20, blank=True, help_text=_("E.164, e.g. +8613812345678")
    )
    mobile2 = models.CharField(_("second phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    region = models.CharField(_("region / district"), max_length=100, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    background = models.CharField(
        _("background"), max_length=20, choices=BackgroundCategory.choices, blank=True
    )
    contact_person = models.CharField(_("contact person"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    consent_service_calls = models.BooleanField(_("accepts service calls"), default=True)
    consent_marketing = models.BooleanField(_("accepts marketing"), default=False)
    # ---- channels: where e-mail and WeChat service-account messages go ----
    # (a database default: the DMS import and the demo insert customers with SQL naming their columns)
    email = models.EmailField(_("e-mail"), blank=True, default="", db_default="")
    wechat_openid = models.CharField(_("WeChat openid"), max_length=64, blank=True, default="", db_default="")
    # ---- end channels ----
    source = models.CharField(_("source"), max_length=20, choices=CustomerSource.choices, default=CustomerSource.OTHER)
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False, db_index=False
    )
    is_active = models.BooleanField(default=True, editable=False)
    row_hash = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        verbose_name = _("customer")
        ordering = ["store_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["store", "number"], name="customer_number_unique"),
            # the target of the (store, customer) keys of the store's rows (`customer_of_the_store`)
            models.UniqueConstraint(fields=["store", "id"], name="customer_store_id_unique"),
            models.UniqueConstraint(
                fields=["store", "dms_code"], condition=Q(dms_code__isnull=False), name="customer_dms_code_unique"
            ),
        ]
        indexes = [
            # the import finds a customer by mobile, then checks store and name: led by the mobile, so that no
            # other index (all others lead with the store) can look as good to a planner without statistics. No
            # query filters or sorts by name alone (the search is a substring match, which a B-tree cannot serve).
            models.Index(fields=["mobile", "store"], name="customer_mobile_store_idx"),
            # only merged files: the few that point elsewhere
            models.Index(
                fields=["merged_into"], condition=Q(merged_into__isnull=False), name="customer_merged_into_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class Vehicle(StoreOwnedModel):
    """A vehicle. VIN is unique in the whole group; `store` is the store that keeps its file."""

    # unique and indexed through Meta: a field's `unique` / `db_index` would add a second, `LIKE`-prefix index on
    # PostgreSQL that no query uses (searches are exact or by any part), written on every insert
    vin = models.CharField(_("VIN"), max_length=17)
    plate = models.CharField(_("plate"), max_length=10, blank=True)
    brand = models.CharField(_("brand"), max_length=50, blank=True)
    model = models.CharField(_("model"), max_length=100, blank=True)
    delivery_date = models.DateField(_("delivery date"), null=True, blank=True)
    warranty_end = models.DateField(_("warranty end"), null=True, blank=True)
    maintenance_interval_km = models.PositiveIntegerField(_("maintenance interval (km)"), null=True, blank=True)
    maintenance_interval_months = models.PositiveSmallIntegerField(
        _("maintenance interval (months)"), null=True, blank=True
    )
    next_maintenance_due = models.DateField(_("next maintenance due"), null=True, blank=True)
    row_hash = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        verbose_name = _("vehicle")
        ordering = ["vin"]
        constraints = [
            models.UniqueConstraint(fields=["vin"], name="vehicle_vin_unique"),
            models.CheckConstraint(condition=Q(vin__regex=r"^[A-HJ-NPR-Z0-9]{17}$"), name="vehicle_vin_format"),
        ]
        indexes = [models.Index(fields=["plate"], name="vehicle_plate_idx")]

    def __str__(self) -> str:
        return self.plate or self.vin


class Ownership(StoreOwnedModel):
    """Who owns a vehicle from when to when. Exactly one open row (valid_to null) per vehicle."""

    # no index of its own: reached through the vehicle or the customer
    store = store_checked_by_customer()
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="ownerships")
    # no index of its own: (customer, valid_to) leads with it
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="ownerships", db_index=False, db_constraint=False
    )
    valid_from = models.DateField(_("owner from"))
    valid_to = models.DateField(_("owner until"), null=True, blank=True)

    class Meta:
        verbose_name = _("ownership")
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle"], condition=Q(valid_to__isnull=True), name="ownership_one_current_owner"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="ownership_dates_ordered",
            ),
            customer_of_the_store("ownership_customer_of_the_store"),
        ]
        indexes = [models.Index(fields=["customer", "valid_to"], name="ownership_customer_idx")]


class MileageReading(StoreOwnedModel):
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="mileage_readings")
    read_on = models.DateField(_("date"))
    km = models.PositiveIntegerField(_("mileage (km)"))
    source = models.CharField(_("source"), max_length=20, choices=MileageSource.choices)

    class Meta:
        verbose_name = _("mileage reading")
        ordering = ["-read_on"]
        constraints = [
            models.UniqueConstraint(fields=["vehicle", "read_on", "source"], name="mileage_unique_per_day_source")
        ]


class SalesDelivery(StoreOwnedModel):
    """A new-car delivery (交车). One per vehicle and store."""

    # no index of its own: (store, vehicle) and (store, delivered_at) lead with it
    store = store_checked_by_customer()
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="deliveries")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="deliveries", db_constraint=False)
    delivered_at = models.DateTimeField(_("delivered at"))
    sales_consultant = models.CharField(_("sales consultant"), max_length=100, blank=True)
    sales_consultant_staff = models.ForeignKey(
        "org.Staff", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    order_number = models.CharField(_("sales order number"), max_length=50, blank=True)
    row_hash = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        verbose_name = _("sales delivery")
        verbose_name_plural = _("sales deliveries")
        constraints = [
            models.UniqueConstraint(fields=["store", "vehicle"], name="delivery_store_vehicle_unique"),
            customer_of_the_store("delivery_customer_of_the_store"),
        ]
        indexes = [models.Index(fields=["store", "delivered_at"], name="delivery_store_time_idx")]


class RepairOrder(StoreOwnedModel):
    """A settled repair order (维修工单). Natural key: store + RO number."""

    # store and vehicle have no index of their own: (store, ro_number), (store, settled_at) and
    # (vehicle, settled_at) lead with them
    store = store_checked_by_customer()
    ro_number = models.CharField(_("RO number"), max_length=50)
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="repair_orders", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="repair_orders", db_constraint=False
    )
    settled_at = models.DateTimeField(_("settled / left at"))
    kind = models.CharField(_("kind"), max_length=30, choices=RepairKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, default=0)
    mileage = models.PositiveIntegerField(_("mileage (km)"), null=True, blank=True)
    service_advisor = models.CharField(_("service advisor"), max_length=100, blank=True)
    booked = models.BooleanField(_("booked by appointment"), default=False)
    fault_description = models.TextField(_("fault description"), blank=True)
    row_hash = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        verbose_name = _("repair order")
        constraints = [
            models.UniqueConstraint(fields=["store", "ro_number"], name="repair_order_store_number_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="repair_order_amount_non_negative"),
            customer_of_the_store("repair_order_customer_of_the_store"),
        ]
        indexes = [
            # covering (PostgreSQL): a period's order counts by kind and booked flag (the appointment rate)
            # read the index alone; other databases build it without the included columns
            models.Index(fields=["store", "settled_at"], include=["kind", "booked", "id"],
                         name="ro_store_settled_idx"),
            models.Index(fields=["vehicle", "settled_at"], name="ro_vehicle_settled_idx"),
        ]


class InsurancePolicy(StoreOwnedModel):
    # no index of its own: (store, expiry_date) leads with it
    store = store_checked_by_customer()
    policy_number = models.CharField(_("policy number"), max_length=50, unique=True)
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="policies")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="policies", db_constraint=False)
    insurer = models.CharField(_("insurer"), max_length=100)
    start_date = models.DateField(_("start date"))
    expiry_date = models.DateField(_("expiry date"))
    premium = models.DecimalField(_("premium"), max_digits=12, decimal_places=2, default=0)
    kind = models.CharField(_("kind"), max_length=20, choices=PolicyKind.choices)
    row_hash = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        verbose_name = _("insurance policy")
        verbose_name_plural = _("insurance policies")
        constraints = [
            models.CheckConstraint(condition=Q(expiry_date__gt=models.F("start_date")), name="policy_dates_ordered"),
            models.CheckConstraint(condition=Q(premium__gte=0), name="policy_premium_non_negative"),
            customer_of_the_store("policy_customer_of_the_store"),
        ]
        indexes = [models.Index(fields=["store", "expiry_date"], name="policy_store_expiry_idx")]


# ---- channels: consent history ----
class ConsentChange(StoreOwnedModel):
    """One change of a customer's consent of one purpose (PIPL): who, when, from where. Written only by
    `customers.services.consent_set` (and the customer writes that call it); never edited."""

    store = store_checked_by_customer()
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="consent_changes", db_constraint=False
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=20, choices=ConsentSource.choices)
    at = models.DateTimeField(_("time"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("consent change")
        ordering = ["customer_id", "at", "id"]
        constraints = [customer_of_the_store("consent_change_customer_of_the_store")]
        indexes = [models.Index(fields=["store", "customer", "at"], name="consent_change_customer_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} {'+' if self.granted else '-'} {self.source}"
# ---- end channels ----
