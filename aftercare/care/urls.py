from django.urls import path  # noqa: F401

app_name = "care"

urlpatterns = []

# ---- channels: the delivery log, message templates, the public opt-out link ----
from .views import channels as channels_views  # noqa: E402

urlpatterns += [
    path("messages/", channels_views.message_log, name="messages"),
    path("messages/export.xlsx", channels_views.message_log_export, name="messages_export"),
    path("templates/", channels_views.template_list, name="templates"),
    path("templates/new/", channels_views.template_edit, name="template_create"),
    path("templates/<int:pk>/", channels_views.template_edit, name="template_edit"),
    path("optout/<str:token>/", channels_views.optout, name="optout"),
]
# ---- end channels ----
