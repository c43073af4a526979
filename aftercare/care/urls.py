from django.urls import path  # noqa: F401

app_name = "care"

urlpatterns = []


# ---- churn ----
from .views import churn as _churn_views  # noqa: E402

urlpatterns += [path("churn/", _churn_views.churn_page, name="churn")]
# ---- end churn ----
