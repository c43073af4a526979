from django.urls import path  # noqa: F401

app_name = "care"

urlpatterns = []

# ---- classes: classes and churn, flows, settings, win-back list, churn reasons ----
from .views import classes as classes_views  # noqa: E402

urlpatterns += [
    path("classes/", classes_views.classes_overview, name="classes"),
    path("classes/flow/", classes_views.class_flow, name="class_flow"),
    path("classes/settings/", classes_views.class_settings, name="class_settings"),
    path("winback/", classes_views.winback, name="winback"),
    path("winback/export/", classes_views.winback_export, name="winback_export"),
    path("customers/<int:customer_id>/churn-reason/", classes_views.churn_reason_add, name="churn_reason_add"),
]
# ---- end classes ----


# ---- churn ----
from .views import churn as _churn_views  # noqa: E402

urlpatterns += [path("churn/", _churn_views.churn_page, name="churn")]
# ---- end churn ----


# ---- remind: reminders (issue 18) ----
from .views import remind as _remind  # noqa: E402

urlpatterns += [
    path("reminders/", _remind.reminder_list, name="reminders"),
    path("reminders/settings/", _remind.reminder_settings, name="reminder_settings"),
    path("reminders/rules/<int:rule_id>/", _remind.reminder_rule_edit, name="reminder_rule_edit"),
]
# ---- end remind ----


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


# ---- campaigns: campaigns and recalls ----
from .views import campaigns as campaign_views  # noqa: E402

urlpatterns += [
    path("campaigns/", campaign_views.campaign_list, name="campaign_list"),
    path("campaigns/new/", campaign_views.campaign_new, name="campaign_new"),
    path("campaigns/count/", campaign_views.segment_count, name="segment_count"),
    path("campaigns/<int:campaign_id>/", campaign_views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:campaign_id>/launch/", campaign_views.campaign_launch, name="campaign_launch"),
    path("campaigns/<int:campaign_id>/export.xlsx", campaign_views.campaign_export, name="campaign_export"),
    path("campaigns/targets/<int:campaign_target_id>/outcome/", campaign_views.target_outcome,
         name="campaign_target_outcome"),
    path("recalls/", campaign_views.recall_list, name="recall_list"),
    path("recalls/<int:recall_id>/", campaign_views.recall_detail, name="recall_detail"),
    path("recalls/vehicles/<int:recall_vehicle_id>/done/", campaign_views.recall_vehicle_done,
         name="recall_vehicle_done"),
]
