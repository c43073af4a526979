from django.contrib import admin

from .models import DealerGroup, Department, Region, Staff, Store, StoreSharing, WorkCalendarDay
from .services import store_create


@admin.register(DealerGroup)
class DealerGroupAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "group"]
    list_filter = ["group"]
    search_fields = ["code", "name"]


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "brand", "region", "customer_number_prefix"]
    list_filter = ["region", "brand"]
    search_fields = ["code", "name"]
    inlines = [DepartmentInline]
    # Set by the store's CS manager on the customer settings page, where the change is audited.
    readonly_fields = ["phone_reveals_per_hour"]

    def save_model(self, request, obj, form, change):
        """A new store is created through `store_create`, whose `store_created` signal lets the apps above org give
        it their defaults (followups: the default rules SSI, CSI, verification, repeat repair …)."""
        if change:
            super().save_model(request, obj, form, change)
        else:
            store_create(actor=request.user, store=obj)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "store"]
    list_filter = ["kind", "store"]
    list_select_related = ["store"]


@admin.register(Staff)
class StaffAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "role", "department", "store_codes"]
    list_filter = ["role", "stores"]
    search_fields = ["display_name", "user__username", "mobile"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["stores"]
    list_select_related = ["user", "department"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("stores")

    @admin.display(description=Store._meta.verbose_name)
    def store_codes(self, obj):
        return ", ".join(s.code for s in obj.stores.all())


@admin.register(StoreSharing)
class StoreSharingAdmin(admin.ModelAdmin):
    list_display = ["from_store", "to_store", "resource", "created_at"]
    list_filter = ["resource"]
    list_select_related = ["from_store", "to_store"]


@admin.register(WorkCalendarDay)
class WorkCalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "store", "is_workday", "note"]
    list_filter = ["is_workday", "store"]
    date_hierarchy = "date"
    list_select_related = ["store"]
