from django.urls import include, path

from . import views

app_name = "quality"

urlpatterns = [
    path("reports/", views.report_list, name="reports"),
    path("reports/new/", views.report_create, name="report_create"),
    path("reports/import/", views.report_import, name="report_import"),
    path("reports/<int:report_id>/", views.report_detail, name="report_detail"),
    path("reports/<int:report_id>/photos/<int:report_photo_id>/", views.report_photo, name="report_photo"),
    path("codes/", views.codes_page, name="codes"),
    path("alarms/", views.alarm_list, name="alarms"),
    path("alarms/<int:alarm_id>/", views.alarm_detail, name="alarm_detail"),
    path("alarms/<int:alarm_id>/vins.xlsx", views.alarm_export, name="alarm_export"),
    path("", include("aftercare.quality.urls_scorecard")),
    path("", include("aftercare.quality.urls_evaluations")),
]
