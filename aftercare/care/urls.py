from django.urls import path  # noqa: F401

app_name = "care"

urlpatterns = []

# ---- remind: reminders (issue 18) ----
from .views import remind as _remind  # noqa: E402

urlpatterns += [
    path("reminders/", _remind.reminder_list, name="reminders"),
    path("reminders/settings/", _remind.reminder_settings, name="reminder_settings"),
    path("reminders/rules/<int:rule_id>/", _remind.reminder_rule_edit, name="reminder_rule_edit"),
]
# ---- end remind ----
