"""The client's data rights: their page, the export download, corrections, erasure, consents;
the staff's requests page; the privacy notice (public) and its editor (managers)."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from notifications.models import PreferenceChange
from portal.access import (
    client_of,
    client_required,
    log_access,
    log_unreadable,
    manager_required,
    staff_required,
)
from portal.lib import sealed
from portal.models import AccessLog, Client, Clinic
from privacy import conf, notice, services
from privacy.access import correction_for_staff, erasure_for_staff, export_for
from privacy.forms import CorrectionForm, ErasureForm, NoticeForm, ResolveForm
from privacy.models import DataExport, ErasureRequest, PrivacyNotice, ProfileCorrection

logger = logging.getLogger(__name__)


# --- The client's page ---------------------------------------------------------------------------


def _home_context(client: Client) -> dict:
    now = timezone.now()
    export = DataExport.objects.of_client(client).first()
    return {
        "client": client,
        "export": export,
        "export_state": export.state(now) if export else "",
        "corrections": list(ProfileCorrection.objects.filter(client=client)[:10]),
        "correction_form": CorrectionForm(),
        "erasure": ErasureRequest.objects.filter(
            client=client, status=ErasureRequest.Status.PENDING
        ).first(),
        "export_days": conf.export_days(),
    }


@client_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    client = client_of(request.user)
    context = _home_context(client)
    if request.htmx:
        return render(request, "privacy/home.html#export", context)
    return render(request, "privacy/home.html", context)


@client_required
@require_POST
def export_request(request: HttpRequest) -> HttpResponse:
    client = client_of(request.user)
    try:
        services.request_export(client=client, by=request.user)
    except services.PrivacyError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Your data is being prepared. This page will tell you when it is ready."),
        )
    return redirect("privacy:home")


@client_required
@require_http_methods(["GET", "POST"])
def export(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: where this export stands. POST: the one download (a POST, so that no link preview
    or prefetch can use it up)."""
    item = export_for(request, pk)
    now = timezone.now()
    state = item.state(now)
    if state == "expired" and item.file:
        services.discard_file(item)
    if request.method == "GET" or state != DataExport.Status.READY:
        status = 410 if state in ("expired", DataExport.Status.DOWNLOADED) else 200
        context = {"export": item, "state": state}
        return render(request, "privacy/export.html", context, status=status)
    return _download(request, item, now)


def _download(request: HttpRequest, item: DataExport, now) -> HttpResponse:
    try:
        handle, chunks = sealed.open_verified(item.file.name, item.wrapped_key, item.aad)
    except sealed.Unreadable as error:
        return _unreadable(request, item, str(error))
    if not services.claim_download(export=item, now=now):
        handle.close()  # another request took it a moment ago
        item.refresh_from_db()
        return render(
            request, "privacy/export.html", {"export": item, "state": item.state(now)}, status=410
        )
    log_access(
        request, action=AccessLog.Action.DOWNLOAD, object_type="data_export", object_id=item.pk
    )
    # Once it has gone out (or the download broke off), the file is deleted: downloadable once.
    stream = sealed.stream(request, chunks, handle, then=lambda: services.discard_file(item))
    response = StreamingHttpResponse(stream, content_type="application/zip")
    response["Content-Length"] = str(item.plaintext_size)
    response["Content-Disposition"] = f'attachment; filename="data-{now:%Y-%m-%d}.zip"'
    response["Cache-Control"] = "no-store, private"
    return response


def _unreadable(request: HttpRequest, item: DataExport, why: str) -> HttpResponse:
    log_unreadable(request, object_type="data_export", object_id=item.pk, why=why)
    return render(
        request, "privacy/export.html", {"export": item, "state": "unreadable"}, status=500
    )


@client_required
@require_POST
def correction(request: HttpRequest) -> HttpResponse:
    client = client_of(request.user)
    form = CorrectionForm(request.POST)
    if not form.is_valid():
        context = _home_context(client) | {"correction_form": form}
        return render(request, "privacy/home.html", context, status=400)
    services.request_correction(client=client, message=form.cleaned_data["message"])
    messages.success(request, _("Your request is sent. The clinic will correct your details."))
    return redirect("privacy:home")


@client_required
@require_http_methods(["GET", "POST"])
def erasure(request: HttpRequest) -> HttpResponse:
    client = client_of(request.user)
    pending = ErasureRequest.objects.filter(
        client=client, status=ErasureRequest.Status.PENDING
    ).first()
    form = ErasureForm(request.POST or None, user=request.user, request=request)
    if request.method == "POST":
        if pending is not None:
            messages.error(
                request,
                _("You have already asked to close your account. The clinic will confirm it."),
            )
            return redirect("privacy:erasure")
        if form.is_valid():
            try:
                services.request_erasure(client=client)
            except services.PrivacyError as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request,
                    _("Your request is sent. The clinic will confirm it and close your account."),
                )
            return redirect("privacy:erasure")
    return render(
        request,
        "privacy/erasure.html",
        {
            "form": form,
            "pending": pending,
            "years": conf.medical_retention_years(),
        },
        status=400 if request.method == "POST" else 200,
    )


@client_required
@require_GET
def consents(request: HttpRequest) -> HttpResponse:
    client = client_of(request.user)
    journal = PreferenceChange.objects.filter(client=client).select_related("by")[:200]
    return render(request, "privacy/consents.html", {"journal": journal, "client": client})


# --- Staff ---------------------------------------------------------------------------------------


@staff_required
@require_GET
def requests(request: HttpRequest) -> HttpResponse:
    corrections = ProfileCorrection.objects.select_related("client", "resolved_by")
    erasures = ErasureRequest.objects.select_related("client", "confirmed_by")
    return render(
        request,
        "privacy/requests.html",
        {
            "open_corrections": list(corrections.filter(resolved_at=None).order_by("created_at")),
            "done_corrections": list(corrections.exclude(resolved_at=None)[:20]),
            "pending_erasures": list(
                erasures.filter(status=ErasureRequest.Status.PENDING).order_by("created_at")
            ),
            "done_erasures": list(erasures.filter(~Q(status=ErasureRequest.Status.PENDING))[:20]),
            "resolve_form": ResolveForm(),
            "years": conf.medical_retention_years(),
        },
    )


@staff_required
@require_POST
def resolve_correction(request: HttpRequest, pk: int) -> HttpResponse:
    item = correction_for_staff(pk)
    form = ResolveForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    if services.resolve_correction(correction=item, by=request.user, note=note):
        messages.success(request, _("The request is marked resolved."))
    else:
        messages.info(request, _("This request was already resolved."))
    return redirect("privacy:requests")


@manager_required
@require_POST
def confirm_erasure(request: HttpRequest, pk: int) -> HttpResponse:
    item = erasure_for_staff(pk)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the box to confirm the erasure."))
        return redirect("privacy:requests")
    try:
        services.confirm_erasure(erasure=item, by=request.user)
    except services.PrivacyError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("The account is closed and the client's personal data is erased."),
        )
    return redirect("privacy:requests")


# --- The notice ----------------------------------------------------------------------------------


@login_not_required  # public: read before signing up
@require_GET
def notice_page(request: HttpRequest) -> HttpResponse:
    return render(
        request, "privacy/notice.html", {"paragraphs": notice.paragraphs(get_language() or "fr")}
    )


@manager_required
@require_http_methods(["GET", "POST"])
def notice_edit(request: HttpRequest) -> HttpResponse:
    current = PrivacyNotice.current()
    form = NoticeForm(
        request.POST or None, initial={"text_fr": current.text_fr, "text_en": current.text_en}
    )
    if request.method == "POST" and form.is_valid():
        services.save_notice(
            text_fr=form.cleaned_data["text_fr"],
            text_en=form.cleaned_data["text_en"],
            by=request.user,
        )
        messages.success(request, _("The privacy notice is saved."))
        return redirect("privacy:notice_edit")
    return render(
        request,
        "privacy/notice_edit.html",
        {"form": form, "notice": current, "default": notice.default_paragraphs(Clinic.current())},
    )
