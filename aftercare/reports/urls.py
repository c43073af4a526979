from django.urls import path

from . import views

app_name = "reports"

urlpatterns: list = [
    # ---- action register ----
    path("actions/", views.action_list, name="actions"),
    path("actions/<int:pk>/", views.action_detail, name="action_detail"),
    path("actions/<int:pk>/<slug:step>/", views.action_step, name="action_step"),
    # ---- end action register ----
]

# ---- ssi: SSI / CSI against region and nation (views_ssi.py) ----
from . import views_ssi  # noqa: E402

urlpatterns += [
    path("ssi/", views_ssi.page, name="ssi"),
    path("ssi/import/", views_ssi.import_page, name="ssi_import"),
    path("ssi/target/", views_ssi.target, name="ssi_target"),
    path("ssi/sheets/", views_ssi.sheets, name="ssi_sheets"),
    path("ssi/export/", views_ssi.export, name="ssi_export"),
]
# ---- end ssi ----
