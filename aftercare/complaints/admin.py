from django.contrib import admin

from .models import (
    ComplaintSettings,
    DeadlinePolicy,
    DepartmentDesignee,
    EscalationTier,
    Feedback,
    FeedbackAttachment,
    FeedbackEvent,
    RepeatRepair,
)


class FeedbackEventInline(admin.TabularInline):
    model = FeedbackEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "action", "from_status", "to_status", "actor", "note")
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "store",
        "kind",
        "severity",
        "category",
        "department",
        "customer",
        "status",
        "assignee",
        "deadline_at",
        "escalation_level",
        "created_at",
    )
    list_filter = ("kind", "status", "severity", "source", "category", "store")
    raw_id_fields = (
        "customer",
        "vehicle",
        "followup_task",
        "answer_sheet",
        "call_log",
        "created_by",
        "department",
        "assignee",
        "returned_by",
        "verified_by",
        "archived_by",
        "verification_task",
    )
    search_fields = ("customer__name", "customer__number", "text")
    readonly_fields = ("created_at", "updated_at")
    inlines = [FeedbackEventInline]


@admin.register(FeedbackEvent)
class FeedbackEventAdmin(admin.ModelAdmin):
    """The visible history is append-only: read here, written only by the services."""

    list_display = ("id", "feedback", "store", "action", "from_status", "to_status", "actor", "created_at")
    list_filter = ("action", "store")
    search_fields = ("feedback__id", "note")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FeedbackAttachment)
class FeedbackAttachmentAdmin(admin.ModelAdmin):
    list_display = ("id", "feedback", "store", "name", "content_type", "size", "uploaded_by", "created_at")
    list_filter = ("store", "content_type")
    raw_id_fields = ("feedback", "uploaded_by")
    readonly_fields = ("file", "name", "content_type", "size", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False  # uploads go through the service (size, type and content checks)


@admin.register(ComplaintSettings)
class ComplaintSettingsAdmin(admin.ModelAdmin):
    list_display = ("store", "warn_hours", "reopen_escalation_count", "repeat_repair_window_days", "updated_at")


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(admin.ModelAdmin):
    list_display = ("store", "kind", "severity", "working_days")
    list_filter = ("store", "kind", "severity")


@admin.register(EscalationTier)
class EscalationTierAdmin(admin.ModelAdmin):
    list_display = ("store", "level", "role", "working_days_after")
    list_filter = ("store",)


@admin.register(DepartmentDesignee)
class DepartmentDesigneeAdmin(admin.ModelAdmin):
    list_display = ("store", "department", "user")
    list_filter = ("store",)
    raw_id_fields = ("department", "user")


@admin.register(RepeatRepair)
class RepeatRepairAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "vehicle", "original", "repeat", "fault_key", "followup_task", "created_at")
    list_filter = ("store",)
    raw_id_fields = ("original", "repeat", "vehicle", "customer", "followup_task")
