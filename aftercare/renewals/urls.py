from django.urls import path

from . import views

app_name = "renewals"

urlpatterns = [
    # measures page (measures part):
    path("measures/", views.measures, name="measures"),
    path("measures/export.xlsx", views.measures_export, name="measures_export"),
    path("measures/policies/", views.measures_policies, name="measures_policies"),
]
