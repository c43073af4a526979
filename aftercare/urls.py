from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from aftercare.api import api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("aftercare.core.urls")),
    path("customers/", include("aftercare.customers.urls")),
    path("imports/", include("aftercare.dms.urls")),
    path("followups/", include("aftercare.followups.urls")),
    path("complaints/", include("aftercare.complaints.urls")),
]
if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
