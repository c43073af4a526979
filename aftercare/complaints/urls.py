from django.urls import path

from . import views

app_name = "complaints"

urlpatterns = [
    path("", views.feedback_list, name="list"),
    path("<int:pk>/", views.feedback_detail, name="detail"),
]
