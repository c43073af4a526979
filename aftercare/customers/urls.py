from django.urls import path

from . import views

app_name = "customers"
urlpatterns: list = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/reveal-phone/", views.customer_reveal_phone, name="reveal_phone"),
    path("<int:pk>/vehicles/new/", views.vehicle_create, name="vehicle_create"),
    path("vehicles/<int:pk>/", views.vehicle_detail, name="vehicle_detail"),
    path("vehicles/<int:pk>/transfer/", views.vehicle_transfer, name="vehicle_transfer"),
    path("quality/", views.data_quality, name="data_quality"),
    path("settings/", views.customer_settings, name="settings"),
    path("settings/<int:store_id>/", views.customer_settings_edit, name="settings_edit"),
    path("merge/<int:keep>/<int:merge>/", views.customer_merge, name="merge"),
]
