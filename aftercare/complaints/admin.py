from django.contrib import admin

from .models import Feedback


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "kind", "source", "category", "department", "customer", "status", "created_at")
    list_filter = ("kind", "status", "source", "category", "store")
    raw_id_fields = ("customer", "vehicle", "followup_task", "answer_sheet", "call_log", "created_by", "department")
    search_fields = ("customer__name", "customer__number", "text")
    readonly_fields = ("created_at", "updated_at")
