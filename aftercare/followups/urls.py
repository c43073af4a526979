from django.urls import path

from . import views

app_name = "followups"

urlpatterns = [
    path("templates/<int:pk>/export.<str:fmt>", views.template_export, name="template_export"),
]
