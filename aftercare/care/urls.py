from django.urls import path  # noqa: F401

app_name = "care"

urlpatterns = []

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
