from django.urls import path

from . import views

app_name = "renewals"

urlpatterns = [
    # ---- the follow-up sheet (sheets): export and import ----
    path("export.xlsx", views.renewal_export, name="export"),
    path("import/", views.renewal_import, name="import"),
    # the renewal specialist's and manager's pages (list, case, settings):
    path("", views.case_list, name="list"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/gifts/<int:gift_id>/", views.gift_update, name="gift_update"),
    path("<int:case_id>/", views.case_detail, name="detail"),
    path("<int:case_id>/claim/", views.case_claim, name="claim"),
    path("<int:case_id>/release/", views.case_release, name="release"),
    path("<int:case_id>/assign/", views.case_assign, name="assign"),
    path("<int:case_id>/contact/", views.contact_record, name="contact"),
    path("<int:case_id>/outcome/", views.outcome_record, name="outcome"),
    # measures page (measures part):
    path("measures/", views.measures, name="measures"),
    path("measures/export.xlsx", views.measures_export, name="measures_export"),
    path("measures/policies/", views.measures_policies, name="measures_policies"),
]
