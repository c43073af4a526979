from django.urls import path

from . import views

app_name = "dms"
urlpatterns = [
    path("", views.import_index, name="index"),
    path("<int:pk>/", views.import_detail, name="detail"),
    path("<int:pk>/progress/", views.import_progress, name="progress"),
    path("<int:pk>/errors.<str:fmt>", views.import_errors, name="errors"),
]
