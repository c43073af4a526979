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
