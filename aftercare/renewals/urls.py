from django.urls import path

from . import views

app_name = "renewals"

urlpatterns = [
    # ---- the follow-up sheet (sheets): export and import ----
    path("export.xlsx", views.renewal_export, name="export"),
    path("import/", views.renewal_import, name="import"),
]
