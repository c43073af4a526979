"""Routes of the dealer scorecard, included by `quality/urls.py`."""

from django.urls import path

from . import views_scorecard

urlpatterns = [
    path("scorecard/", views_scorecard.scorecard, name="scorecard"),
    path("shipments/", views_scorecard.shipments, name="shipments"),
]
