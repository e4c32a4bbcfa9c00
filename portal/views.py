import sys
from urllib.parse import quote_plus

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_not_required, login_required
from django.core.paginator import Paginator
from django.db import InterfaceError, OperationalError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import user_has_device

from portal import sessions, two_factor
from portal.access import (
    client_for_staff,
    client_of,
    client_required,
    duty_required,
    is_staff,
    manager_required,
    staff_required,
)
from portal.accounts import INVITATION_SESSION_KEY
from portal.dashboard import collect_client_panels, collect_panels
from portal.forms import (
    ClientContactForm,
    ClientForm,
    ClinicForm,
    OTPTokenForm,
    StaffInvitationForm,
)
from portal.lib.app_hooks import gather
from portal.lib.mail import absolute_url, email_context, send_clinic_email
from portal.models import STAFF_ROLES, Client, Clinic, Invitation, Role, Site, User


@login_not_required  # public: the clinic's page for people not signed in; their space otherwise
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return public_page(request)
    staff = is_staff(request.user)
    context = {"panels": collect_panels(request, staff=staff)}
    if staff:
        return render(request, "portal/home_staff.html", context)
    context["client"] = client_of(request.user)
    return render(request, "portal/home_client.html", context)


def public_page(request: HttpRequest) -> HttpResponse:
    """The clinic's page for people who are not signed in: who, where, when, how to reach a
    person, what can be booked online (each app adds its part: `public_panels`)."""
    clinic = Clinic.current()
    sites = list(Site.objects.filter(is_active=True))
    for site in sites:
        site.map_url = (
            "https://www.openstreetmap.org/search?query=" + quote_plus(site.address_line)
            if site.address_line
            else ""
        )
    panels = sorted(gather("public_panels", request), key=lambda panel: panel.order)
    return render(
        request, "portal/public.html", {"sites": sites, "panels": panels, "clinic": clinic}
    )


@login_not_required  # public: shown in e-mails, before any sign-in
@require_GET
def clinic_logo(request: HttpRequest) -> FileResponse:
    clinic = Clinic.current()
    if not clinic.logo:
        raise Http404
    return FileResponse(clinic.logo.open("rb"))


# --- Clinic settings and team (manager) ----------------------------------------------------------


@manager_required
@require_http_methods(["GET", "POST"])
def clinic_settings(request: HttpRequest) -> HttpResponse:
    clinic = Clinic.current()
    form = ClinicForm(request.POST or None, request.FILES or None, instance=clinic)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The clinic's settings are saved."))
        return redirect("portal:clinic_settings")
    return render(request, "portal/clinic_settings.html", {"form": form})


@manager_required
@require_http_methods(["GET", "POST"])
def team(request: HttpRequest) -> HttpResponse:
    form = StaffInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _send_invitation(request, email=form.cleaned_data["email"], role=form.cleaned_data["role"])
        messages.success(
            request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]}
        )
        return redirect("portal:team")
    members = User.objects.filter(role__in=STAFF_ROLES, is_active=True).order_by(
        "role", "last_name"
    )
    pending = Invitation.objects.filter(
        role__in=STAFF_ROLES, accepted_at=None, expires_at__gt=timezone.now()
    )
    return render(
        request, "portal/team.html", {"form": form, "members": members, "pending": pending}
    )


def _send_invitation(
    request: HttpRequest, *, email: str, role: str, client: Client | None = None
) -> Invitation:
    invitation, token = Invitation.issue(
        email=email, role=role, invited_by=request.user, client=client
    )
    clinic = Clinic.current()
    context = {
        **email_context(clinic),
        "url": absolute_url(reverse("portal:invitation", args=[token])),
        "invitation": invitation,
        "days": Invitation.VALIDITY.days,
    }
    send_clinic_email(
        subject=_("Your invitation to %(clinic)s") % {"clinic": clinic.name},
        text=render_to_string("portal/email/invitation.txt", context, request=request),
        to=[email],
        clinic=clinic,
    )
    return invitation


# --- Clients (staff) -----------------------------------------------------------------------------


@staff_required
@require_GET
def clients(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    found = Client.objects.search(query).select_related("user")
    page = Paginator(found, 25).get_page(request.GET.get("page"))
    template = "portal/clients.html#results" if request.htmx else "portal/clients.html"
    return render(request, template, {"page": page, "q": query})


@duty_required("clients")
@require_http_methods(["GET", "POST"])
def client_new(request: HttpRequest) -> HttpResponse:
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        client = form.save()
        messages.success(request, _("Client record created."))
        return redirect("portal:client_detail", pk=client.pk)
    return render(request, "portal/client_form.html", {"form": form})


@staff_required
@require_GET
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    client = client_for_staff(pk)
    panels = collect_client_panels(request, client)
    return render(request, "portal/client_detail.html", {"client": client, "panels": panels})


@duty_required("clients")
@require_POST
def client_invite(request: HttpRequest, pk: int) -> HttpResponse:
    client = client_for_staff(pk)
    if client.user_id is not None:
        messages.error(request, _("This client already has an account."))
    elif not client.email:
        messages.error(request, _("Add an e-mail address to the record before inviting."))
    elif User.objects.filter(email__iexact=client.email).exists():
        messages.error(request, _("An account with this e-mail already exists."))
    else:
        _send_invitation(request, email=client.email, role=Role.CLIENT, client=client)
        messages.success(request, _("Invitation sent to %(email)s.") % {"email": client.email})
    return redirect("portal:client_detail", pk=client.pk)


# --- Invitations ---------------------------------------------------------------------------------


@login_not_required  # public: the invitation token is the credential
@require_GET
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    found = Invitation.objects.by_token(token)
    if found is None or not found.is_usable(timezone.now()):
        reason = "used" if found and found.accepted_at else "expired" if found else "unknown"
        return render(request, "portal/invitation_invalid.html", {"reason": reason}, status=410)
    if request.user.is_authenticated:
        messages.info(request, _("Sign out first to accept an invitation for another account."))
        return redirect("portal:home")
    request.session[INVITATION_SESSION_KEY] = token
    # The link was sent to this address, so following it proves the address: no second e-mail.
    get_adapter(request).stash_verified_email(request, found.email)
    return redirect(f"{reverse('account_signup')}?email={found.email}")


# --- The client's own details --------------------------------------------------------------------


@client_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    client = client_of(request.user)
    form = ClientContactForm(request.POST or None, instance=client)
    if request.method == "POST" and form.is_valid():
        form.save()
        if "phone" in form.changed_data:
            # notifications journals that the new number is not checked yet (its AppConfig).
            gather("phone_changed", client)
        messages.success(request, _("Your details are saved."))
        return redirect("portal:profile")
    return render(request, "portal/profile.html", {"form": form})


# --- Two-factor ----------------------------------------------------------------------------------


@login_required
@require_GET
def security(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/security.html",
        {
            "enrolled": user_has_device(request.user, confirmed=True),
            "mandatory": is_staff(request.user),
            "sign_ins": sessions.signed_in(request.user, current_key=request.session.session_key),
        },
    )


@login_required
@require_POST
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """Ends every other sign-in of the account (their open pages and websockets too), and this
    one as well when asked."""
    this_one = bool(request.POST.get("this_one"))
    ended = sessions.end_sessions(
        request.user, keep=None if this_one else request.session.session_key
    )
    if this_one:
        logout(request)
        messages.success(request, _("You are signed out on every device, this one too."))
        return redirect(settings.LOGIN_URL)
    messages.success(
        request,
        ngettext(
            "Signed out on %(count)d other device.",
            "Signed out on %(count)d other devices.",
            ended,
        )
        % {"count": ended},
    )
    return redirect("portal:security")


@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    if user_has_device(request.user, confirmed=True):
        return redirect("portal:security")
    device = two_factor.pending_totp_device(request.user)
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, throttle = device.verify_is_allowed()
        if not allowed:
            form.add_error("token", _wait_message((throttle or {}).get("locked_until")))
        elif two_factor.confirm_totp(device, form.cleaned_data["token"]):
            otp_login(request, device)
            codes = two_factor.new_backup_codes(request.user)
            return render(request, "portal/otp_backup_codes.html", {"codes": codes})
        else:
            form.add_error(
                "token", _("This code is not right. Check your phone's clock and retry.")
            )
    return render(
        request,
        "portal/otp_setup.html",
        {
            "form": form,
            "qr": two_factor.qr_svg(device),
            "secret": two_factor.base32_secret(device),
            "mandatory": is_staff(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = reverse("portal:home")
    if request.user.is_verified():
        return redirect(next_url)
    if not user_has_device(request.user, confirmed=True):
        return redirect("portal:otp_setup")
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = two_factor.check_code(request.user, form.cleaned_data["token"])
        if result.device is not None:
            otp_login(request, result.device)
            return redirect(next_url)
        if result.locked_until:
            form.add_error("token", _wait_message(result.locked_until))
        else:
            form.add_error("token", _("This code is not right, or it was already used."))
    return render(request, "portal/otp_verify.html", {"form": form, "next": next_url})


def _wait_message(locked_until) -> str:
    seconds = 1
    if locked_until:
        seconds = max(1, int((locked_until - timezone.now()).total_seconds()) + 1)
    return ngettext(
        "Too many wrong codes. Wait %(seconds)s second, then try again.",
        "Too many wrong codes. Wait %(seconds)s seconds, then try again.",
        seconds,
    ) % {"seconds": seconds}


@login_required
@require_POST
def otp_backup_codes(request: HttpRequest) -> HttpResponse:
    """New backup codes (the old ones stop working): only from a verified session."""
    if not request.user.is_verified():
        return redirect("portal:otp_verify")
    codes = two_factor.new_backup_codes(request.user)
    return render(request, "portal/otp_backup_codes.html", {"codes": codes})


@client_required
@require_POST
def otp_disable(request: HttpRequest) -> HttpResponse:
    """A client may turn two-factor off again, with a current code; staff never can."""
    form = OTPTokenForm(request.POST)
    if form.is_valid() and two_factor.check_code(request.user, form.cleaned_data["token"]).device:
        two_factor.remove_devices(request.user)
        messages.success(request, _("Two-step sign-in is off."))
    else:
        messages.error(request, _("This code is not right: two-step sign-in stays on."))
    return redirect("portal:security")


# --- Error pages ---------------------------------------------------------------------------------


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page, with the clinic's phone when the database still answers.

    When the error is the database being unreachable (a restart, a failover), the answer is a
    503 that says so and what to do: a write that was under way was either whole or not made at
    all (each one is a transaction), so the person checks before trying again.
    """
    error = sys.exc_info()[1]
    try:
        clinic = Clinic.current()
    except Exception:  # the error may be the database itself
        clinic = None
    if isinstance(error, (OperationalError, InterfaceError)):
        response = HttpResponse(
            render_to_string("503.html", {"clinic": clinic, "request": request}), status=503
        )
        response["Retry-After"] = "30"
        return response
    return HttpResponse(render_to_string("500.html", {"clinic": clinic}), status=500)
