from django.urls import path

from . import views

app_name = "appointments"

urlpatterns = [
    # ---- measures (ameasure part) ----
    path("measures/", views.measures, name="measures"),
    path("measures/export.xlsx", views.measures_export, name="measures_export"),
    path("measures/orders/", views.measures_orders, name="measures_orders"),
    path("measures/bookings/", views.measures_bookings, name="measures_bookings"),
]
