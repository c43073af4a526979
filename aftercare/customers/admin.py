from django.contrib import admin

from .models import Customer, InsurancePolicy, MileageReading, Ownership, RepairOrder, SalesDelivery, Vehicle


class OwnershipInline(admin.TabularInline):
    model = Ownership
    extra = 0
    raw_id_fields = ["customer", "vehicle"]
    fields = ["customer", "vehicle", "valid_from", "valid_to", "store"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "store", "source", "background", "is_active"]
    list_filter = ["store", "source", "background", "is_active", "consent_service_calls", "consent_marketing"]
    search_fields = ["number", "name", "mobile", "dms_code"]
    readonly_fields = ["number", "merged_into", "is_active", "created_at", "updated_at"]
    list_select_related = ["store"]
    inlines = [OwnershipInline]


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = ["vin", "plate", "brand", "model", "delivery_date", "store"]
    list_filter = ["store", "brand"]
    search_fields = ["vin", "plate", "model"]
    list_select_related = ["store"]
    inlines = [OwnershipInline]


@admin.register(Ownership)
class OwnershipAdmin(admin.ModelAdmin):
    list_display = ["vehicle", "customer", "valid_from", "valid_to", "store"]
    list_filter = ["store"]
    raw_id_fields = ["vehicle", "customer"]
    search_fields = ["vehicle__vin", "vehicle__plate", "customer__number", "customer__name"]
    list_select_related = ["vehicle", "customer", "store"]


@admin.register(MileageReading)
class MileageReadingAdmin(admin.ModelAdmin):
    list_display = ["vehicle", "read_on", "km", "source", "store"]
    list_filter = ["source", "store"]
    raw_id_fields = ["vehicle"]
    search_fields = ["vehicle__vin", "vehicle__plate"]
    list_select_related = ["vehicle", "store"]


@admin.register(SalesDelivery)
class SalesDeliveryAdmin(admin.ModelAdmin):
    list_display = ["vehicle", "customer", "delivered_at", "sales_consultant", "store"]
    list_filter = ["store"]
    raw_id_fields = ["vehicle", "customer", "sales_consultant_staff"]
    search_fields = ["vehicle__vin", "vehicle__plate", "customer__name", "order_number"]
    date_hierarchy = "delivered_at"
    list_select_related = ["vehicle", "customer", "store"]


@admin.register(RepairOrder)
class RepairOrderAdmin(admin.ModelAdmin):
    list_display = ["ro_number", "kind", "settled_at", "amount", "vehicle", "customer", "store"]
    list_filter = ["store", "kind", "booked"]
    raw_id_fields = ["vehicle", "customer"]
    search_fields = ["ro_number", "vehicle__vin", "vehicle__plate", "customer__name"]
    date_hierarchy = "settled_at"
    list_select_related = ["vehicle", "customer", "store"]


@admin.register(InsurancePolicy)
class InsurancePolicyAdmin(admin.ModelAdmin):
    list_display = ["policy_number", "insurer", "kind", "start_date", "expiry_date", "premium", "vehicle", "store"]
    list_filter = ["store", "kind", "insurer"]
    raw_id_fields = ["vehicle", "customer"]
    search_fields = ["policy_number", "vehicle__vin", "vehicle__plate", "customer__name"]
    date_hierarchy = "expiry_date"
    list_select_related = ["vehicle", "store"]
