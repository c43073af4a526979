from django.urls import path

from . import views, views_measures
from .mail import views as mail_views

app_name = "reports"

urlpatterns: list = [
    # ---- action register ----
    path("actions/", views.action_list, name="actions"),
    path("actions/<int:pk>/", views.action_detail, name="action_detail"),
    path("actions/<int:pk>/<slug:step>/", views.action_step, name="action_step"),
    # ---- end action register ----
    # ---- mail: reports by mail, the archive (issue 19; reports/mail/views.py) ----
    path("archive/", mail_views.archive, name="mail_archive"),
    path("archive/generate/", mail_views.report_generate, name="mail_generate"),
    path("archive/<int:report_id>/", mail_views.report_detail, name="mail_report"),
    path("archive/<int:report_id>/pdf/", mail_views.report_file, {"fmt": "pdf"}, name="mail_report_pdf"),
    path("archive/<int:report_id>/xlsx/", mail_views.report_file, {"fmt": "xlsx"}, name="mail_report_xlsx"),
    path("archive/<int:report_id>/resend/", mail_views.report_resend, name="mail_resend"),
    # ---- end mail ----
    # ---- measures (docs/reports.md, "Measures") ----
    path("measures/", views_measures.measures_page, name="measures"),
    path("measures/<str:measure_code>/", views_measures.measure_detail, name="measure_detail"),
    path("measures/<str:measure_code>/export/", views_measures.measure_export, name="measure_export"),
    # ---- end measures ----
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

# ---- yearly: the department's year report (reports/yearly/) ----
from .yearly import views as yearly_views  # noqa: E402

urlpatterns += [
    path("year/", yearly_views.page, name="year"),
    path("year/regenerate/", yearly_views.regenerate, name="year_regenerate"),
]
# ---- end yearly ----
