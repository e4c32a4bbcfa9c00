from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from portal.access import needs_two_factor
from portal.models import Clinic
from portal.two_factor import has_authenticator


class ClinicTimezoneMiddleware:
    """Shows every date and time in the clinic's zone, whatever the server's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        clinic = Clinic.current()
        request.clinic = clinic
        timezone.activate(clinic.tz)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


# Paths a half-authenticated user may still reach: enrol, verify, leave, change language.
_OPEN_PREFIXES = ("/static/", "/i18n/", "/account/2fa/", "/accounts/logout/")


class TwoFactorRequiredMiddleware:
    """A staff user without a verified second factor reaches only the two-factor pages.

    Staff with no device are sent to enrolment; anyone with a device (staff, or a client who
    chose to enrol) is sent to the code page until this session is verified.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(_OPEN_PREFIXES)
        ):
            if has_authenticator(user):
                verify = reverse("portal:otp_verify")
                return redirect(f"{verify}?{urlencode({'next': request.get_full_path()})}")
            if needs_two_factor(user):
                return redirect("portal:otp_setup")
        return self.get_response(request)
