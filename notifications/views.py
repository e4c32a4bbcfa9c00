"""Notifications pages: a client's preferences, the unsubscribe link, the provider's receipts,
and the staff's outbox, client history, templates and campaigns."""

import json
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from notifications import codes, replies, services
from notifications.backends import receipt_signature_ok
from notifications.forms import (
    LANGUAGE_CODES,
    CampaignForm,
    OutboxFilterForm,
    PhoneCodeForm,
    PreferencesForm,
    TemplateForm,
)
from notifications.messages import (
    MEDICAL_FIELDS,
    TEMPLATED_KINDS,
    VARIABLES,
    default_wording,
    render_string,
    sms_context,
    with_sender,
)
from notifications.models import (
    Campaign,
    Channel,
    InboundSms,
    Kind,
    MessageTemplate,
    Notification,
    PreferenceChange,
)
from notifications.providers import ovh, twilio
from notifications.segments import count_segments
from portal.access import (
    client_for_staff,
    client_of,
    client_required,
    manager_required,
    staff_required,
)
from portal.lib.links import LinkError, LinkExpired, read_token
from portal.lib.net import client_ip
from portal.lib.phones import display_phone
from portal.models import Client, Clinic

log = logging.getLogger(__name__)


# --- Clients ---------------------------------------------------------------------------------


@client_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    client = client_of(request.user)
    preference = services.preference_for(client)
    if request.method == "POST" and "email_correct" in request.POST:
        # "My address is correct": e-mails go to it again after a bounce (journaled).
        if services.confirm_email_address(client=client, by=request.user):
            messages.success(request, _("E-mails will go to your address again."))
        return redirect("notifications:preferences")
    form = PreferencesForm(request.POST or None, preference=preference)
    if request.method == "POST" and form.is_valid():
        changes = services.change_preferences(
            client=client,
            by=request.user,
            how=PreferenceChange.How.CLIENT_PAGE,
            channels=form.channels(),
            marketing_opt_in=form.cleaned_data["marketing_opt_in"],
            service_opt_out=form.cleaned_data["service_opt_out"],
        )
        if changes:
            messages.success(request, _("Your choices are saved."))
        else:
            messages.info(request, _("Nothing changed."))
        return redirect("notifications:preferences")
    journal = PreferenceChange.objects.filter(client=client).select_related("by")[:20]
    return render(
        request,
        "notifications/preferences.html",
        {
            "form": form,
            "journal": journal,
            "client": client,
            "preference": preference,
            "phone_checked": services.phone_checked(client, preference),
        },
    )


@client_required
@require_http_methods(["GET", "POST"])
def phone(request: HttpRequest) -> HttpResponse:
    """Check the client's own mobile number with a code sent to it by text message. Only the
    signed-in client's number: there is no object to name in the URL."""
    client = client_of(request.user)
    form = PhoneCodeForm(request.POST if "code" in request.POST else None)
    status = 200
    if request.method == "POST" and "send" in request.POST:
        try:
            sent = codes.send_phone_code(client=client)
        except codes.CodeError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("A code is on its way to %(phone)s. It expires in 10 minutes.")
                % {"phone": display_phone(sent.target)},
            )
        return redirect("notifications:phone")
    if request.method == "POST" and form.is_valid():
        result = codes.check_phone_code(
            client=client, code=form.cleaned_data["code"], by=request.user
        )
        if result.ok:
            messages.success(request, result.message)
            return redirect("notifications:phone")
        form.add_error("code", result.message)
    if form.errors:
        status = 400
    return render(
        request,
        "notifications/phone.html",
        {
            "client": client,
            "form": form,
            "checked": services.phone_checked(client),
            "state": codes.resend_state(client=client, purpose=codes.Purpose.PHONE),
        },
        status=status,
    )


@login_not_required  # public: the signed token is the credential
@csrf_exempt  # the signed token is the credential; mail clients' one-click POST has no cookie
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """One click, no login: GET shows a button (link scanners must not unsubscribe anyone),
    POST (ours, or a mail client's RFC 8058 one-click) withdraws marketing consent."""
    try:
        payload = read_token(services.UNSUBSCRIBE_PURPOSE, token)
    except LinkExpired:
        return render(request, "notifications/unsubscribe.html", {"state": "expired"}, status=410)
    except LinkError:
        return render(request, "notifications/unsubscribe.html", {"state": "invalid"}, status=400)
    client = Client.objects.filter(pk=payload.get("c")).first()
    if client is None:
        return render(request, "notifications/unsubscribe.html", {"state": "invalid"}, status=400)
    if request.method == "POST":
        changed = services.unsubscribe(client=client)
        state = "done" if changed else "already"
    else:
        state = "ask" if services.preference_for(client).marketing_opt_in else "already"
    return render(request, "notifications/unsubscribe.html", {"state": state, "token": token})


@login_not_required  # public: the provider signs the body
@csrf_exempt  # called by the SMS provider, authenticated by the body's HMAC signature
@require_POST
def sms_receipt(request: HttpRequest) -> HttpResponse:
    """A delivery receipt: {"id": provider id, "status": "delivered"|"failed", "error": ...},
    signed with HMAC-SHA256 of the raw body in X-Signature. A bad signature changes nothing."""
    from django.conf import settings

    body = request.body
    signature = request.headers.get("X-Signature", "")
    if not receipt_signature_ok(body, signature, settings.NOTIFICATIONS_SMS_WEBHOOK_SECRET):
        log.warning("SMS receipt with a bad signature from %s", request.META.get("REMOTE_ADDR"))
        return HttpResponse(status=403)
    try:
        receipt = json.loads(body)
        provider_id, state = str(receipt["id"]), str(receipt["status"])
    except (ValueError, KeyError, TypeError):
        return HttpResponse(status=400)
    applied = services.record_receipt(
        provider_id=provider_id, state=state, detail=str(receipt.get("error", ""))[:200]
    )
    # 200 either way: a receipt for a message we do not know is not worth the provider retrying.
    return JsonResponse({"applied": applied})


# --- Two-way SMS: the providers' receipts and the clients' replies --------------------------
# Each provider has its own URLs and its own proof: Twilio signs (X-Twilio-Signature), OVHcloud
# does not, so its URLs carry a long shared token. Every call is rate-limited per source
# address and logged in one line (never a number or a message text).

# An OVHcloud reply stamped further than this from now is a replay (its id is also kept).
REPLAY_WINDOW = timedelta(hours=24)


def _rate_limited(request: HttpRequest) -> bool:
    """A fixed one-minute window per source address in the shared cache (per process while
    Redis is down: the prefix is in the cache's LOCAL_WHEN_DOWN)."""
    from django.core.cache import cache

    key = f"notifications:sms-rate:{client_ip(request) or '-'}:{int(time.time() // 60)}"
    try:
        try:
            count = cache.incr(key)
        except ValueError:  # the window's first call
            count = 1 if cache.add(key, 1, timeout=120) else cache.incr(key)
    except Exception as error:  # a cache that does not answer at all: receipts still count
        log.warning("sms webhook rate limit not counted (%s)", error.__class__.__name__)
        return False
    return count > settings.NOTIFICATIONS_SMS_WEBHOOK_RATE_PER_MINUTE


def _params(request: HttpRequest) -> dict[str, str]:
    source = request.POST if request.method == "POST" else request.GET
    return {name: source.get(name, "") for name in source}


def _logged(provider: str, what: str, result: str, status: int = 200) -> None:
    log.info("sms webhook provider=%s what=%s result=%s status=%d", provider, what, result, status)


def _receipt(provider: str, receipt) -> str:
    if receipt is None:
        return "unreadable"
    applied = services.record_receipt(
        provider_id=receipt.provider_id, state=receipt.state, detail=receipt.detail
    )
    return "applied" if applied else "ignored"


def _incoming(provider: str, incoming) -> str:
    if incoming is None:
        return "unreadable"
    inbound = replies.receive(
        provider=provider,
        provider_message_id=incoming.provider_message_id,
        from_number=incoming.from_number,
        text=incoming.text,
    )
    return inbound.outcome


@login_not_required  # public: Twilio signs every request (X-Twilio-Signature, the auth token)
@csrf_exempt  # called by Twilio, authenticated by its signature
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    """Twilio's status callback: MessageSid, MessageStatus (delivered, undelivered, failed;
    earlier steps change nothing), ErrorCode."""
    return _twilio(request, "status", twilio.read_status, _receipt)


@login_not_required  # public: Twilio signs every request (X-Twilio-Signature, the auth token)
@csrf_exempt  # called by Twilio, authenticated by its signature
@require_POST
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    """A client's text message to the clinic's Twilio number: MessageSid, From, Body. The answer
    is an empty TwiML document: ours goes through the outbox (replies.py)."""
    return _twilio(request, "inbound", twilio.read_incoming, _incoming)


def _twilio(request: HttpRequest, what: str, read, act) -> HttpResponse:
    if _rate_limited(request):
        _logged("twilio", what, "rate-limited", 429)
        return HttpResponse(status=429)
    params = _params(request)
    url = services.absolute(request.get_full_path())
    if not twilio.signature_ok(url, params, request.headers.get("X-Twilio-Signature", "")):
        _logged("twilio", what, "bad-signature", 403)
        return HttpResponse(status=403)
    result = act("twilio", read(params))
    status = 400 if result == "unreadable" else 200
    _logged("twilio", what, result, status)
    if status != 200:
        return HttpResponse(status=status)
    return HttpResponse(twilio.EMPTY_TWIML, content_type="text/xml")


@login_not_required  # public: the shared token in the URL (ACCUEIL_OVH_CALLBACK_TOKEN)
@csrf_exempt  # called by OVHcloud, authenticated by the token in its path
@require_http_methods(["GET", "POST"])
def ovh_status(request: HttpRequest, token: str) -> HttpResponse:
    """OVHcloud's delivery report: id, dlr (1 delivered, 2 or 16 failed), descriptionDlr."""
    return _ovh(request, token, "status", ovh.read_status, _receipt)


@login_not_required  # public: the shared token in the URL (ACCUEIL_OVH_CALLBACK_TOKEN)
@csrf_exempt  # called by OVHcloud, authenticated by the token in its path
@require_http_methods(["GET", "POST"])
def ovh_inbound(request: HttpRequest, token: str) -> HttpResponse:
    """A client's text message (the service's smsResponse callback): id, senderid, message,
    date. Refused when its date is more than a day away from now (a replay)."""

    def act(provider: str, incoming) -> str:
        if incoming is not None and incoming.sent_at is not None:
            sent_at = incoming.sent_at
            if timezone.is_naive(sent_at):
                sent_at = timezone.make_aware(sent_at, Clinic.current().tz)
            if abs(timezone.now() - sent_at) > REPLAY_WINDOW:
                return "stale"
        return _incoming(provider, incoming)

    return _ovh(request, token, "inbound", ovh.read_incoming, act)


def _ovh(request: HttpRequest, token: str, what: str, read, act) -> HttpResponse:
    if _rate_limited(request):
        _logged("ovh", what, "rate-limited", 429)
        return HttpResponse(status=429)
    if not ovh.token_ok(token):
        _logged("ovh", what, "bad-token", 403)
        return HttpResponse(status=403)
    result = act("ovh", read(_params(request)))
    status = 400 if result == "unreadable" else 200
    _logged("ovh", what, result, status)
    return HttpResponse(status=status)


# --- Staff ---------------------------------------------------------------------------------------


@staff_required
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    form = OutboxFilterForm(request.GET or None)
    rows = form.filter(Notification.objects.select_related("client")).defer("body", "html", "ics")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "usage": services.month_sms_usage(),
        "replies": InboundSms.objects.select_related("client")[:20],
    }
    template = "notifications/outbox.html#results" if request.htmx else "notifications/outbox.html"
    return render(request, template, context)


def _notification_for_staff(pk: int) -> Notification:
    try:
        return Notification.objects.select_related("client").get(pk=pk)
    except Notification.DoesNotExist:
        raise Http404 from None


@staff_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    row = _notification_for_staff(pk)
    return render(
        request,
        "notifications/detail.html",
        {"row": row, "events": row.events.all(), "replies": row.replies.all()},
    )


@staff_required
@require_POST
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    row = _notification_for_staff(pk)
    if not row.is_final:
        messages.error(request, _("This message has not been sent yet: wait for it."))
        return redirect("notifications:detail", pk=row.pk)
    if row.kind == Kind.VERIFICATION_CODE:
        messages.error(request, _("A code is not sent twice: the client asks for a new one."))
        return redirect("notifications:detail", pk=row.pk)
    copy = services.resend(notification=row, by=request.user)
    messages.success(request, _("A copy is on its way."))
    return redirect("notifications:detail", pk=copy.pk)


@staff_required
@require_GET
def client_history(request: HttpRequest, pk: int) -> HttpResponse:
    client = client_for_staff(pk)
    rows = Notification.objects.filter(client=client).defer("body", "html", "ics")[:100]
    journal = PreferenceChange.objects.filter(client=client).select_related("by")[:50]
    preference = services.preference_for(client)
    phone_checked = services.phone_checked(client, preference)
    topics = [(topic, preference.channels_for(topic)) for topic in _topics()]
    return render(
        request,
        "notifications/client_history.html",
        {
            "client": client,
            "rows": rows,
            "journal": journal,
            "preference": preference,
            "phone_checked": phone_checked,
            "topics": topics,
            "replies": InboundSms.objects.filter(client=client)[:50],
        },
    )


def _topics():
    from notifications.models import Topic

    return list(Topic)


@staff_required
@require_POST
def client_phone(request: HttpRequest, pk: int) -> HttpResponse:
    """The team checked the mobile number with the client (at the desk, on the phone)."""
    client = client_for_staff(pk)
    verified = request.POST.get("phone_verified") == "1"
    services.change_preferences(
        client=client, by=request.user, how=PreferenceChange.How.STAFF, phone_verified=verified
    )
    messages.success(request, _("Saved."))
    return redirect("notifications:client_history", pk=client.pk)


@staff_required
@require_POST
def client_email(request: HttpRequest, pk: int) -> HttpResponse:
    """The team checked the e-mail address with the client (or corrected it on the record)
    after a bounce: e-mails go to it again."""
    client = client_for_staff(pk)
    if services.confirm_email_address(
        client=client, by=request.user, how=PreferenceChange.How.STAFF
    ):
        messages.success(request, _("E-mails will go to this address again."))
    return redirect("notifications:client_history", pk=client.pk)


@manager_required
@require_GET
def templates(request: HttpRequest) -> HttpResponse:
    own = set(MessageTemplate.objects.values_list("kind", "channel", "language"))
    rows = []
    for kind in TEMPLATED_KINDS:
        cells = []
        for channel in Channel:
            for language in LANGUAGE_CODES:
                cells.append((channel, language, (kind, channel, language) in own))
        rows.append((Kind(kind), cells))
    return render(
        request,
        "notifications/templates.html",
        {
            "rows": rows,
            "usage": services.month_sms_usage(),
            "sms": replies.sms_setup(Clinic.current()),
        },
    )


SAMPLE = {
    "first_name": "Camille",
    "patient_name": "Filou",
    "service_name": "Vaccination",
    "care_kind": "vaccination",
    "practitioner_name": "Dr Dubois",
    "date": "vendredi 27 novembre",
    "day": "demain",
    "time": "15:30",
    "due_date": "mercredi 20 janvier",
    "expires": "mercredi 25 novembre 12:00",
    "site_name": "Tilleuls",
    "site_address": "12 avenue des Tilleuls",
    "confirm_url": "https://clinic.example/r/Ab3dE5fG7h/",
    "cancel_url": "https://clinic.example/r/Ab3dE5fG7h/",
    "move_url": "https://clinic.example/r/Ab3dE5fG7h/",
    "booking_url": "https://clinic.example/booking/",
    "claim_url": "https://clinic.example/w/Ab3dE5fG7h/",
    "base_url": "https://clinic.example/",
    "by_clinic": True,
    "count": 1,
}


def _preview(body: str, clinic: Clinic) -> dict[str, object]:
    """The template rendered with sample values, as a text message, and its parts."""
    sender = services.sms_sender(clinic)
    # Sample links on the portal's own address, as real messages have them (a long base URL
    # makes longer texts: the preview counts its parts honestly).
    base = services.base_url()
    links = {
        key: value.replace("https://clinic.example/", base)
        for key, value in SAMPLE.items()
        if isinstance(value, str) and value.startswith("https://clinic.example/")
    }
    context = sms_context(dict(SAMPLE, **links, clinic=clinic.name, sender=sender))
    try:
        text = with_sender(" ".join(render_string(body, context).split()), sender)
    except Exception:  # a half-typed tag: show the raw text's count meanwhile
        text = body
    return {"text": text, "count": count_segments(text)}


@manager_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, kind: str, channel: str, language: str) -> HttpResponse:
    if (
        kind not in TEMPLATED_KINDS
        or channel not in Channel.values
        or language not in LANGUAGE_CODES
    ):
        raise Http404
    clinic = Clinic.current()
    own = MessageTemplate.objects.filter(kind=kind, channel=channel, language=language).first()
    subject, body = (own.subject, own.body) if own else default_wording(kind, channel, language)
    if request.htmx and request.method == "POST":
        preview = _preview(request.POST.get("body", ""), clinic)
        return render(request, "notifications/template_edit.html#segments", preview)
    if request.method == "POST" and "reset" in request.POST:
        if own is not None:
            own.delete()
        messages.success(request, _("Back to the default wording."))
        return redirect(
            "notifications:template_edit", kind=kind, channel=channel, language=language
        )
    form = TemplateForm(
        request.POST or None, channel=channel, initial={"subject": subject, "body": body}
    )
    if request.method == "POST" and form.is_valid():
        MessageTemplate.objects.update_or_create(
            kind=kind,
            channel=channel,
            language=language,
            defaults={
                "subject": form.cleaned_data.get("subject", ""),
                "body": form.cleaned_data["body"],
                "updated_by": request.user,
            },
        )
        messages.success(request, _("The clinic's wording is saved."))
        return redirect(
            "notifications:template_edit", kind=kind, channel=channel, language=language
        )
    current = form["body"].value() or ""
    return render(
        request,
        "notifications/template_edit.html",
        {
            "form": form,
            "kind": Kind(kind),
            "channel": Channel(channel),
            "language": language,
            "own": own,
            "variables": [
                name
                for name in VARIABLES[kind]
                if channel == Channel.EMAIL or name not in MEDICAL_FIELDS
            ],
            **(_preview(current, clinic) if channel == Channel.SMS else {}),
        },
    )


@manager_required
@require_http_methods(["GET", "POST"])
def campaigns(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        campaign = form.save(commit=False)
        campaign.created_by = request.user
        campaign.save()
        messages.success(request, _("Draft saved. Check it, then send it."))
        return redirect("notifications:campaigns")
    return render(
        request,
        "notifications/campaigns.html",
        {
            "form": form,
            "campaigns": Campaign.objects.all()[:50],
            "audience": services.campaign_audience().count(),
            "now": timezone.now(),
        },
    )


@manager_required
@require_POST
def campaign_send(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    count = services.send_campaign(campaign=campaign, by=request.user)
    if count:
        messages.success(
            request, _("Queued for %(count)d clients who asked for news.") % {"count": count}
        )
    else:
        messages.info(request, _("This campaign was already sent, or nobody opted in."))
    return redirect("notifications:campaigns")
