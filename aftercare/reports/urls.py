from django.urls import path  # noqa: F401

from .mail import views as mail_views

app_name = "reports"

urlpatterns: list = [
    # ---- mail: reports by mail, the archive (issue 19; reports/mail/views.py) ----
    path("archive/", mail_views.archive, name="mail_archive"),
    path("archive/generate/", mail_views.report_generate, name="mail_generate"),
    path("archive/<int:report_id>/", mail_views.report_detail, name="mail_report"),
    path("archive/<int:report_id>/pdf/", mail_views.report_file, {"fmt": "pdf"}, name="mail_report_pdf"),
    path("archive/<int:report_id>/xlsx/", mail_views.report_file, {"fmt": "xlsx"}, name="mail_report_xlsx"),
    path("archive/<int:report_id>/resend/", mail_views.report_resend, name="mail_resend"),
    # ---- end mail ----
]
