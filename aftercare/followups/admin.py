from django.contrib import admin

from .models import (
    CallLog,
    Factor,
    FollowupRule,
    FollowupTask,
    LetterLog,
    Question,
    QuestionnaireTemplate,
    StoreFollowupSettings,
)


class FactorInline(admin.TabularInline):
    model = Factor
    extra = 0


@admin.register(QuestionnaireTemplate)
class QuestionnaireTemplateAdmin(admin.ModelAdmin):
    list_display = ("code", "version", "kind", "status", "name_zh")
    list_filter = ("kind", "status")
    inlines = [FactorInline]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("code", "factor", "type", "weight", "text_zh")
    list_filter = ("factor__template", "type")


@admin.register(FollowupRule)
class FollowupRuleAdmin(admin.ModelAdmin):
    list_display = ("store", "code", "trigger", "kind", "deadline_amount", "deadline_unit", "is_active")
    list_filter = ("store", "trigger", "is_active")


@admin.register(StoreFollowupSettings)
class StoreFollowupSettingsAdmin(admin.ModelAdmin):
    list_display = ("store", "max_attempts", "repair_deadline_unit", "unreachable_counts_as", "refused_counts_as")


@admin.register(FollowupTask)
class FollowupTaskAdmin(admin.ModelAdmin):
    list_display = ("id", "store", "kind", "status", "due_at", "claimed_by", "attempts")
    list_filter = ("store", "kind", "status")
    raw_id_fields = ("customer", "vehicle", "rule", "template", "assigned_to", "claimed_by", "completed_by")
    list_select_related = ("store", "claimed_by")


@admin.register(CallLog)
class CallLogAdmin(admin.ModelAdmin):
    list_display = ("called_at", "store", "handler", "direction", "outcome", "duration_s")
    list_filter = ("store", "direction", "outcome")
    raw_id_fields = ("task", "customer", "handler")


@admin.register(LetterLog)
class LetterLogAdmin(admin.ModelAdmin):
    list_display = ("created_at", "store", "kind", "channel", "status")
    list_filter = ("store", "kind", "channel", "status")
    raw_id_fields = ("task", "customer", "handler")
