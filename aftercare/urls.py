from django.contrib import admin
from django.urls import include, path

from aftercare.api import api
from aftercare.appointments.urls import self_booking_urlpatterns

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("aftercare.core.urls")),
    path("", include("aftercare.org.urls")),
    path("customers/", include("aftercare.customers.urls")),
    path("imports/", include("aftercare.dms.urls")),
    path("followups/", include("aftercare.followups.urls")),
    path("complaints/", include("aftercare.complaints.urls")),
    path("renewals/", include("aftercare.renewals.urls")),
    path("appointments/", include("aftercare.appointments.urls")),
    path("care/", include("aftercare.care.urls")),
    path("quality/", include("aftercare.quality.urls")),
    path("reports/", include("aftercare.reports.urls")),
    # the customer's self-booking link (public, signed token; appointments/views/self_booking.py): short for the SMS
    path("b/", include((self_booking_urlpatterns, "self_booking"))),
]

# Friendly pages in the UI's language (JSON under /api/); CSRF failures: settings.CSRF_FAILURE_VIEW.
handler400 = "aftercare.core.errors.bad_request"
handler403 = "aftercare.core.errors.permission_denied"
handler404 = "aftercare.core.errors.page_not_found"
handler500 = "aftercare.core.errors.server_error"
