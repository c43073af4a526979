from django.urls import path

from . import views

# Mounted at the site root without a namespace (the names were core's before org owned these views).
urlpatterns = [
    path("today/", views.start, name="start"),
    path("store/", views.store_switch, name="store_switch"),
    path("security/lockouts/", views.lockout_list, name="lockouts"),
    path("security/lockouts/unlock/", views.lockout_clear, name="lockout_clear"),
    path("system/jobs/", views.job_list, name="jobs"),
    path("kpis/", views.kpi_catalogue, name="kpis"),
]
