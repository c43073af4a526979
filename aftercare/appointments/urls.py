from django.urls import path

from .views import booking, day, measures, self_booking

app_name = "appointments"

urlpatterns = [
    # ---- capacity settings, the day board, the open-bookings import, roadside rescue (views/day.py) ----
    path("settings/", day.settings_page, name="settings"),
    path("settings/bays/<int:bay_id>/", day.settings_bay, name="settings_bay"),
    path("settings/kinds/<int:kind_id>/", day.settings_kind, name="settings_kind"),
    path("settings/overrides/<int:override_id>/delete/", day.settings_override_delete,
         name="settings_override_delete"),
    path("board/", day.board_page, name="board"),
    path("board/walk-in/", day.board_walk_in, name="board_walk_in"),
    path("board/<int:booking_id>/arrive/", day.board_arrive, name="board_arrive"),
    path("board/<int:booking_id>/no-show/", day.board_no_show, name="board_no_show"),
    path("board/<int:booking_id>/match/", day.board_match, name="board_match"),
    path("import/", day.import_page, name="import"),
    path("rescue/", day.rescue_page, name="rescue"),
    path("rescue/<int:rescue_id>/", day.rescue_detail, name="rescue_detail"),
    # ---- booking: calendar, free starts, booking form and page, list, waitlist, parts (views/booking.py) ----
    path("", booking.calendar_page, name="calendar"),
    path("slots/", booking.slots, name="slots"),
    path("book/", booking.book, name="book"),
    path("list/", booking.booking_list_page, name="list"),
    path("<int:booking_id>/", booking.booking_detail, name="detail"),
    path("<int:booking_id>/move/", booking.booking_move_view, name="move"),
    path("<int:booking_id>/cancel/", booking.booking_cancel_view, name="cancel"),
    path("waitlist/", booking.waitlist_page, name="waitlist"),
    path("waitlist/add/", booking.waitlist_add, name="waitlist_add"),
    path("waitlist/<int:entry_id>/cancel/", booking.waitlist_cancel, name="waitlist_cancel"),
    path("parts/", booking.parts_page, name="parts"),
    # ---- measures (views/measures.py) ----
    path("measures/", measures.measures, name="measures"),
    path("measures/export.xlsx", measures.measures_export, name="measures_export"),
    path("measures/orders/", measures.measures_orders, name="measures_orders"),
    path("measures/bookings/", measures.measures_bookings, name="measures_bookings"),
]

# The customer's self-booking page (public, signed token), mounted at `/b/` in `aftercare/urls.py` so that the
# link in the SMS stays short.
self_booking_urlpatterns = [
    path("<str:token>/", self_booking.page, name="page"),
    path("<str:token>/confirm/", self_booking.confirm, name="confirm"),
    path("<str:token>/move/", self_booking.move, name="move"),
    path("<str:token>/cancel/", self_booking.cancel, name="cancel"),
]
