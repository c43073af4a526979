from django.urls import path  # noqa: F401

from . import views_measures

app_name = "reports"

urlpatterns: list = [
    # ---- measures (docs/reports.md, "Measures") ----
    path("measures/", views_measures.measures_page, name="measures"),
    path("measures/<str:measure_code>/", views_measures.measure_detail, name="measure_detail"),
    path("measures/<str:measure_code>/export/", views_measures.measure_export, name="measure_export"),
    # ---- end measures ----
]
