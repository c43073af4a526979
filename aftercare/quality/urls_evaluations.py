"""Routes of dealer evaluation, included by `quality/urls.py`."""

from django.urls import path

from . import views_evaluations as views

urlpatterns = [
    path("visits/", views.visit_list, name="visits"),
    path("visits/<int:visit_id>/", views.visit_detail, name="visit_detail"),
    path("visits/<int:visit_id>/photos/<int:photo_id>/", views.visit_photo, name="visit_photo"),
    path("actions/", views.action_list, name="actions"),
    path("actions/<int:action_id>/", views.action_step, name="action_step"),
    path("evaluation-forms/", views.form_list, name="evaluation_forms"),
    path("evaluation-forms/<int:form_id>/activate/", views.form_activate, name="evaluation_form_activate"),
]
