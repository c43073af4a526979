from django.urls import include, path

app_name = "quality"

urlpatterns = [
    path("", include("aftercare.quality.urls_scorecard")),
]
