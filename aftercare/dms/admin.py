from django.contrib import admin

from .models import ImportBatch


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    """Read-only record of imports (the error report is downloaded from the import page)."""

    list_display = (
        "id", "store", "kind", "filename", "status", "dry_run", "total_rows", "created_count", "updated_count",
        "unchanged_count", "rejected_count", "created_by", "created_at",
    )
    list_filter = ("kind", "status", "dry_run", "store")
    search_fields = ("filename",)
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def has_add_permission(self, request):
        return False
