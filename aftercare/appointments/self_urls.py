"""The customer's self-booking page (public, signed token): mounted at `/b/` in `aftercare/urls.py`."""

from django.urls import path

from . import self_views

app_name = "self_booking"

urlpatterns = [
    path("<str:token>/", self_views.page, name="page"),
    path("<str:token>/confirm/", self_views.confirm, name="confirm"),
    path("<str:token>/move/", self_views.move, name="move"),
    path("<str:token>/cancel/", self_views.cancel, name="cancel"),
]
