from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import set_language

from api.api import url_patterns as api_url_patterns
from portal import audit, duties, views

portal_patterns = [
    path("", views.home, name="home"),
    path("clinic/logo/", views.clinic_logo, name="clinic_logo"),
    path("staff/clinic/", views.clinic_settings, name="clinic_settings"),
    path("staff/team/", views.team, name="team"),
    path("staff/duties/", duties.duties, name="duties"),
    path("staff/access-log/", audit.access_log, name="access_log"),
    path("staff/access-log/export.csv", audit.access_log_export, name="access_log_export"),
    path("staff/clients/", views.clients, name="clients"),
    path("staff/clients/new/", views.client_new, name="client_new"),
    path("staff/clients/<id:pk>/", views.client_detail, name="client_detail"),
    path("staff/clients/<id:pk>/invite/", views.client_invite, name="client_invite"),
    path("invitation/<str:token>/", views.invitation, name="invitation"),
    path("account/profile/", views.profile, name="profile"),
    path("account/2fa/", views.security, name="security"),
    path("account/sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("account/2fa/setup/", views.otp_setup, name="otp_setup"),
    path("account/2fa/verify/", views.otp_verify, name="otp_verify"),
    path("account/2fa/backup-codes/", views.otp_backup_codes, name="otp_backup_codes"),
    path("account/2fa/disable/", views.otp_disable, name="otp_disable"),
]

# The admin signs in through the portal's own sign-in (allauth): its rate limits, lockout and
# second factor apply; /admin/login/ itself never checks a password.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    # allauth.usersessions' own list: the security page shows the sign-ins instead.
    path(
        "accounts/sessions/",
        RedirectView.as_view(pattern_name="portal:security"),
        name="account_sessions",
    ),
    path("accounts/", include("allauth.urls")),
    # The language switch is in every page's footer, the sign-in page's too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("booking/", include("booking.urls")),
    path("waitlist/", include("waitlist.urls")),
    path("records/", include("records.urls")),
    path("household/", include("household.urls")),
    path("messages/", include("messaging.urls")),
    path("notifications/", include("notifications.urls")),
    path("privacy/", include("privacy.urls")),
    # The JSON API (/api/v1/, /api/openapi.json), its docs page and the manager's keys page.
    path("api/", api_url_patterns()),
    path("", include("api.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("orders/", include("orders.urls")),
    path("start/", include("onboarding.urls")),
    path("admin/", admin.site.urls),
]

handler500 = "portal.views.server_error"
