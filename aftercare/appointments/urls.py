from django.urls import path

from . import views

app_name = "appointments"

urlpatterns = [
    # ---- booking in the UI: calendar, free starts, booking form and page, list, waitlist, parts (abook) ----
    path("", views.calendar_page, name="calendar"),
    path("slots/", views.slots, name="slots"),
    path("book/", views.book, name="book"),
    path("list/", views.booking_list_page, name="list"),
    path("<int:booking_id>/", views.booking_detail, name="detail"),
    path("<int:booking_id>/move/", views.booking_move_view, name="move"),
    path("<int:booking_id>/cancel/", views.booking_cancel_view, name="cancel"),
    path("waitlist/", views.waitlist_page, name="waitlist"),
    path("waitlist/add/", views.waitlist_add, name="waitlist_add"),
    path("waitlist/<int:entry_id>/cancel/", views.waitlist_cancel, name="waitlist_cancel"),
    path("parts/", views.parts_page, name="parts"),
]
