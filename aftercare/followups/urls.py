from django.urls import path

from . import views

app_name = "followups"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("manage/", views.manage, name="manage"),
    path("tasks/<int:pk>/", views.call, name="call"),
    path("tasks/<int:pk>/claim/", views.task_claim, name="claim"),
    path("tasks/<int:pk>/release/", views.task_release, name="release"),
    path("tasks/<int:pk>/assign/", views.task_assign, name="assign"),
    path("tasks/<int:pk>/sheet/", views.sheet_submit, name="sheet"),
    path("tasks/<int:pk>/attempt/", views.attempt_record, name="attempt"),
    path("rules/", views.rules, name="rules"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("settings/<int:store_id>/", views.settings_edit, name="settings_edit"),
    path("calls/", views.call_log, name="calls"),
    path("calls/new/", views.call_create, name="call_create"),
    path("calls/export.xlsx", views.call_log_export, name="calls_export"),
    path("letters/", views.letter_log, name="letters"),
    path("letters/new/", views.letter_create, name="letter_create"),
    path("letters/export.xlsx", views.letter_log_export, name="letters_export"),
    path("measures/tasks/", views.measure_tasks, name="measure_tasks"),
    path("measures/sheets/", views.measure_sheets, name="measure_sheets"),
    path("measures/deliveries/", views.measure_deliveries, name="measure_deliveries"),
    path("templates/<int:pk>/export.<str:fmt>", views.template_export, name="template_export"),
]
