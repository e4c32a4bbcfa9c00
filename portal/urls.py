from django.contrib import admin
from django.urls import include, path

from portal import views

portal_patterns = [
    path("", views.home, name="home"),
    path("clinic/logo/", views.clinic_logo, name="clinic_logo"),
    path("staff/clinic/", views.clinic_settings, name="clinic_settings"),
    path("staff/team/", views.team, name="team"),
    path("staff/clients/", views.clients, name="clients"),
    path("staff/clients/new/", views.client_new, name="client_new"),
    path("staff/clients/<id:pk>/", views.client_detail, name="client_detail"),
    path("staff/clients/<id:pk>/invite/", views.client_invite, name="client_invite"),
    path("invitation/<str:token>/", views.invitation, name="invitation"),
    path("account/profile/", views.profile, name="profile"),
    path("account/2fa/", views.security, name="security"),
    path("account/2fa/setup/", views.otp_setup, name="otp_setup"),
    path("account/2fa/verify/", views.otp_verify, name="otp_verify"),
    path("account/2fa/backup-codes/", views.otp_backup_codes, name="otp_backup_codes"),
    path("account/2fa/disable/", views.otp_disable, name="otp_disable"),
]

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("booking/", include("booking.urls")),
    path("waitlist/", include("waitlist.urls")),
    path("records/", include("records.urls")),
    path("messages/", include("messaging.urls")),
    path("notifications/", include("notifications.urls")),
    path("privacy/", include("privacy.urls")),
    path("admin/", admin.site.urls),
]

handler500 = "portal.views.server_error"
