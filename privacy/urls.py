from django.urls import path

from privacy import views

app_name = "privacy"
urlpatterns = [
    path("", views.home, name="home"),
    path("export/", views.export_request, name="export_request"),
    path("export/<id:pk>/", views.export, name="export"),
    path("correction/", views.correction, name="correction"),
    path("erasure/", views.erasure, name="erasure"),
    path("consents/", views.consents, name="consents"),
    path("notice/", views.notice_page, name="notice"),
    path("staff/notice/", views.notice_edit, name="notice_edit"),
    path("staff/requests/", views.requests, name="requests"),
    path(
        "staff/corrections/<id:pk>/resolve/",
        views.resolve_correction,
        name="resolve_correction",
    ),
    path("staff/erasures/<id:pk>/confirm/", views.confirm_erasure, name="confirm_erasure"),
]
