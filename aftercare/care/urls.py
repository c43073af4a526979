"""The care pages under `/care/` (each part of the app: docs/care.md)."""

from django.urls import path

from .views import campaigns, channels, churn, classes, remind

app_name = "care"

urlpatterns = [
    # classes: classes and churn, flows, settings, win-back list, churn reasons
    path("classes/", classes.classes_overview, name="classes"),
    path("classes/flow/", classes.class_flow, name="class_flow"),
    path("classes/settings/", classes.class_settings, name="class_settings"),
    path("winback/", classes.winback, name="winback"),
    path("winback/export/", classes.winback_export, name="winback_export"),
    path("customers/<int:customer_id>/churn-reason/", classes.churn_reason_add, name="churn_reason_add"),
    # churn
    path("churn/", churn.churn_page, name="churn"),
    # remind: reminders
    path("reminders/", remind.reminder_list, name="reminders"),
    path("reminders/success/", remind.reminder_success_rows, name="reminder_success_rows"),
    path("reminders/settings/", remind.reminder_settings, name="reminder_settings"),
    path("reminders/rules/<int:rule_id>/", remind.reminder_rule_edit, name="reminder_rule_edit"),
    # channels: the delivery log, message templates, channel settings, the public opt-out link
    path("messages/", channels.message_log, name="messages"),
    path("messages/export.xlsx", channels.message_log_export, name="messages_export"),
    path("templates/", channels.template_list, name="templates"),
    path("templates/new/", channels.template_edit, name="template_create"),
    path("templates/<int:pk>/", channels.template_edit, name="template_edit"),
    path("channels/settings/", channels.channel_settings, name="channel_settings"),
    path("optout/<str:token>/", channels.optout, name="optout"),
    # campaigns: campaigns and recalls
    path("campaigns/", campaigns.campaign_list, name="campaign_list"),
    path("campaigns/new/", campaigns.campaign_new, name="campaign_new"),
    path("campaigns/count/", campaigns.segment_count, name="segment_count"),
    path("campaigns/measure-rows/", campaigns.campaign_measure_rows, name="campaign_measure_rows"),
    path("campaigns/<int:campaign_id>/", campaigns.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:campaign_id>/edit/", campaigns.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:campaign_id>/launch/", campaigns.campaign_launch, name="campaign_launch"),
    path("campaigns/<int:campaign_id>/export.xlsx", campaigns.campaign_export, name="campaign_export"),
    path("campaigns/targets/<int:campaign_target_id>/outcome/", campaigns.target_outcome,
         name="campaign_target_outcome"),
    path("recalls/", campaigns.recall_list, name="recall_list"),
    path("recalls/<int:recall_id>/", campaigns.recall_detail, name="recall_detail"),
    path("recalls/vehicles/<int:recall_vehicle_id>/done/", campaigns.recall_vehicle_done,
         name="recall_vehicle_done"),
]
