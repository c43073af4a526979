from django.urls import path

from . import views

app_name = "complaints"

urlpatterns = [
    path("", views.feedback_list, name="list"),
    path("export.xlsx", views.feedback_export, name="export"),
    path("new/", views.feedback_create, name="create"),
    path("new/customers/", views.customer_search, name="customer_search"),
    path("inbox/", views.inbox, name="inbox"),
    path("board/", views.board, name="board"),
    path("settings/", views.settings_page, name="settings"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("<int:pk>/", views.feedback_detail, name="detail"),
    path("<int:pk>/pdf/", views.feedback_pdf, name="pdf"),
    path("<int:pk>/verify/", views.feedback_verify, name="verify"),
    path("<int:pk>/<slug:action>/", views.feedback_action, name="action"),
    # measures page (measures helper):
    path("measures/", views.measures, name="measures"),
    path("measures/rows/", views.measure_rows, name="measure_rows"),
    path("measures/orders/", views.measure_orders, name="measure_orders"),
]
