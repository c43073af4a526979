from django.urls import path

from . import day_views, views

app_name = "appointments"

urlpatterns = [
    # ---- capacity settings, the day board, the open-bookings import, roadside rescue (aday part: day_views) ----
    path("settings/", day_views.settings_page, name="settings"),
    path("settings/bays/<int:bay_id>/", day_views.settings_bay, name="settings_bay"),
    path("settings/kinds/<int:kind_id>/", day_views.settings_kind, name="settings_kind"),
    path("settings/overrides/<int:override_id>/delete/", day_views.settings_override_delete,
         name="settings_override_delete"),
    path("board/", day_views.board_page, name="board"),
    path("board/walk-in/", day_views.board_walk_in, name="board_walk_in"),
    path("board/<int:booking_id>/arrive/", day_views.board_arrive, name="board_arrive"),
    path("board/<int:booking_id>/no-show/", day_views.board_no_show, name="board_no_show"),
    path("board/<int:booking_id>/match/", day_views.board_match, name="board_match"),
    path("import/", day_views.import_page, name="import"),
    path("rescue/", day_views.rescue_page, name="rescue"),
    path("rescue/<int:rescue_id>/", day_views.rescue_detail, name="rescue_detail"),
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
    # ---- measures (ameasure part) ----
    path("measures/", views.measures, name="measures"),
    path("measures/export.xlsx", views.measures_export, name="measures_export"),
    path("measures/orders/", views.measures_orders, name="measures_orders"),
    path("measures/bookings/", views.measures_bookings, name="measures_bookings"),
]
