import secrets

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.csp import CSP
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from messaging import contact, live, services, stats
from messaging.access import conversation_for
from messaging.attachments import decrypted_chunks
from messaging.forms import AssignForm, ComposeForm, NewConversationForm, QuickReplyForm
from messaging.models import Attachment, Conversation, Message, QuickReply, Status
from portal.access import (
    client_of,
    client_required,
    duty_denied,
    duty_required,
    has_duty,
    is_staff,
    log_access,
    manager_required,
    staff_required,
)
from portal.models import AccessLog, Client, Clinic, Duty, User

# Filter labels name a set of conversations: "Urgentes", "Fermées" in French, plural, where the
# badge on one conversation says "Urgente".
FILTERS = {
    "": pgettext_lazy("inbox filter", "All open"),
    "urgent": pgettext_lazy("inbox filter", "Urgent"),
    "unassigned": pgettext_lazy("inbox filter", "Unassigned"),
    "mine": pgettext_lazy("inbox filter", "Mine"),
    "waiting": pgettext_lazy("inbox filter", "Waiting for the clinic"),
    "closed": pgettext_lazy("inbox filter", "Closed"),
}
INBOX_SIZE = 100


def _token() -> str:
    return secrets.token_urlsafe(16)


def _readable(request: HttpRequest, pk: int) -> Conversation:
    """The conversation for this user, or 404 with a DENIED line in the access log."""
    try:
        return conversation_for(request.user, pk)
    except Http404:
        log_access(
            request, action=AccessLog.Action.DENIED, object_type="conversation", object_id=pk
        )
        raise


# --- Context shared with the live consumers and the dashboard panels ----------------------------


def inbox_context(user: User, current: str) -> dict[str, object]:
    current = current if current in FILTERS else ""
    conversations = Conversation.objects.for_inbox()
    if current == "closed":
        conversations = conversations.filter(status=Status.CLOSED)
    else:
        conversations = conversations.exclude(status=Status.CLOSED)
    if current == "urgent":
        conversations = conversations.filter(urgent=True)
    elif current == "unassigned":
        conversations = conversations.filter(assignee__isnull=True)
    elif current == "mine":
        conversations = conversations.filter(assignee=user)
    elif current == "waiting":
        conversations = conversations.filter(status=Status.WAITING_CLINIC)
    return {
        "conversations": list(conversations[:INBOX_SIZE]),
        "filter": current,
        "filters": list(FILTERS.items()),
        **staff_panel_context(),
    }


def staff_panel_context() -> dict[str, object]:
    counts = Conversation.objects.exclude(status=Status.CLOSED).aggregate(
        unread=Count("pk", filter=Q(last_client_seq__gt=F("clinic_read_seq"))),
        urgent=Count("pk", filter=Q(urgent=True)),
        waiting=Count("pk", filter=Q(status=Status.WAITING_CLINIC)),
    )
    return {
        "unread_total": counts["unread"],
        "urgent_total": counts["urgent"],
        "waiting_total": counts["waiting"],
    }


def client_panel_context(client: Client) -> dict[str, object]:
    conversations = list(Conversation.objects.of_client(client).select_related("patient")[:5])
    unread = Conversation.objects.of_client(client).unread_for_client().count()
    return {"client_conversations": conversations, "client_unread": unread}


def _appointment_url(conversation: Conversation) -> str:
    """booking's staff page for this client and patient, when booking is installed."""
    try:
        url = reverse("booking:staff_book")
    except NoReverseMatch:
        return ""
    query = f"?client={conversation.client_id}"
    if conversation.patient_id:
        query += f"&patient={conversation.patient_id}"
    return url + query


# --- Client -------------------------------------------------------------------------------------


@client_required
@require_http_methods(["GET", "POST"])
def conversations(request: HttpRequest) -> HttpResponse:
    """The client's conversations and the form to write to the clinic."""
    client = client_of(request.user)
    form = NewConversationForm(
        request.POST or None,
        request.FILES or None,
        client=client,
        initial={"client_token": _token()},
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("attachment")
        try:
            with live.watching() as fan_out:
                posted = services.start_conversation(
                    client=client,
                    author=request.user,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    patient=form.cleaned_data["patient"],
                    uploads=[upload] if upload else [],
                    client_token=form.cleaned_data["client_token"],
                    language=get_language(),
                )
        except ValidationError as exc:
            form.add_error("attachment" if upload else "body", exc)
        except services.RateLimited as exc:
            form.add_error(None, str(exc))
        else:
            if fan_out.failed:
                flash.warning(request, live.PAUSED)
            return redirect("messaging:conversation", posted.conversation.pk)
    context = {
        "form": form,
        "conversations": Conversation.objects.of_client(client).select_related("patient"),
        "call_line": contact.line_to_call(Clinic.current(), timezone.now()),
    }
    return render(request, "messaging/conversations.html", context)


# --- Both sides ---------------------------------------------------------------------------------


@login_required
@require_GET
def conversation(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _readable(request, pk)
    log_access(request, action=AccessLog.Action.VIEW, object_type="conversation", object_id=pk)
    thread = list(Message.objects.after(conversation.pk, 0))
    if thread:
        services.mark_read(conversation=conversation, user=request.user, seq=thread[-1].seq)
    return render(
        request, "messaging/conversation.html", _page_context(request, conversation, thread)
    )


def _page_context(request, conversation: Conversation, thread, compose: ComposeForm | None = None):
    staff = is_staff(request.user)
    context = {
        "conversation": conversation,
        "thread": thread,
        "last_seq": thread[-1].seq if thread else 0,
        "viewer_side": "clinic" if staff else "client",
        "staff": staff,
        "compose": compose or ComposeForm(initial={"client_token": _token()}),
        "client_token": (compose["client_token"].value() if compose else None) or _token(),
        "form_errors": [e for errors in compose.errors.values() for e in errors] if compose else [],
        "quick_replies": QuickReply.objects.all() if staff else [],
        "call_line": contact.line_to_call(Clinic.current(), timezone.now()),
    }
    if staff:
        context["assign_form"] = AssignForm(initial={"assignee": conversation.assignee_id})
        context["appointment_url"] = _appointment_url(conversation)
    return context


@login_required
@require_POST
def send(request: HttpRequest, pk: int) -> HttpResponse:
    """The form without JavaScript, and with an attachment: a plain POST, then the page."""
    if is_staff(request.user) and not has_duty(request.user, Duty.MESSAGES):
        # Clients always answer their own conversations; staff need the "messages" duty.
        return duty_denied(request, Duty.MESSAGES)
    conversation = _readable(request, pk)
    form = ComposeForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data.get("attachment")
        try:
            with live.watching() as fan_out:
                services.post_message(
                    conversation_id=conversation.pk,
                    author=request.user,
                    body=form.cleaned_data["body"],
                    uploads=[upload] if upload else [],
                    client_token=form.cleaned_data["client_token"],
                    language=get_language(),
                )
        except ValidationError as exc:
            form.add_error("attachment" if upload else "body", exc)
        except services.RateLimited as exc:
            form.add_error(None, str(exc))
        except PermissionDenied:
            raise Http404 from None
        else:
            if fan_out.failed:
                flash.warning(request, live.PAUSED)
            return redirect(reverse("messaging:conversation", args=[pk]) + "#compose")
    thread = list(Message.objects.after(conversation.pk, 0))
    return render(
        request,
        "messaging/conversation.html",
        _page_context(request, conversation, thread, compose=form),
        status=400,
    )


# A photo opened on its own is shown by the browser's image view, which styles it inline (and
# the page CSP, style-src 'self', refused that: three CSP errors on each photo a client opened
# from the conversation). The file is a checked photo or PDF, never HTML: nothing may load or
# run (default-src 'none'), only the image itself and the browser's own inline style.
ATTACHMENT_CSP = {
    "default-src": [CSP.NONE],
    "img-src": [CSP.SELF],
    "style-src": [CSP.UNSAFE_INLINE],
    "frame-ancestors": [CSP.NONE],
}


@login_required
@require_GET
@csp_override(ATTACHMENT_CSP)
def attachment(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    item = Attachment.objects.select_related("message").filter(pk=pk).first()
    if item is None:
        log_access(request, action=AccessLog.Action.DENIED, object_type="attachment", object_id=pk)
        raise Http404
    _readable(request, item.message.conversation_id)
    log_access(request, action=AccessLog.Action.DOWNLOAD, object_type="attachment", object_id=pk)
    handle = item.file.open("rb")
    response = StreamingHttpResponse(
        decrypted_chunks(handle, item.wrapped_key, aad=item.aad),
        content_type=item.content_type,
    )
    disposition = "inline" if item.is_image else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{_safe_name(item.name)}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _safe_name(name: str) -> str:
    return "".join(char for char in name if char.isalnum() or char in "._- ")[:100] or "file"


# --- Staff --------------------------------------------------------------------------------------


@staff_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    context = inbox_context(request.user, request.GET.get("filter", ""))
    context["first_response"] = stats.median_first_response()
    template = "messaging/inbox.html#list" if request.htmx else "messaging/inbox.html"
    return render(request, template, context)


@duty_required("messages")
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _readable(request, pk)
    form = AssignForm(request.POST)
    if form.is_valid():
        services.assign(conversation=conversation, assignee=form.cleaned_data["assignee"])
        flash.success(request, _("Assignment saved."))
    return redirect("messaging:conversation", pk)


@duty_required("messages")
@require_POST
def take(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _readable(request, pk)
    services.assign(conversation=conversation, assignee=request.user)
    return redirect("messaging:conversation", pk)


@duty_required("messages")
@require_POST
def set_status(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _readable(request, pk)
    action = request.POST.get("action")
    if action == "close":
        services.set_closed(conversation=conversation, closed=True)
        flash.success(request, _("Conversation closed."))
    elif action == "reopen":
        services.set_closed(conversation=conversation, closed=False)
        flash.success(request, _("Conversation reopened."))
    elif action == "not_urgent":
        services.set_urgent(conversation=conversation, urgent=False)
    else:
        raise Http404
    return redirect("messaging:conversation", pk)


@manager_required
@require_http_methods(["GET", "POST"])
def quick_replies(request: HttpRequest) -> HttpResponse:
    form = QuickReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        flash.success(request, _("Quick reply saved."))
        return redirect("messaging:quick_replies")
    return render(
        request, "messaging/quick_replies.html", {"form": form, "replies": QuickReply.objects.all()}
    )


@manager_required
@require_http_methods(["GET", "POST"])
def quick_reply_edit(request: HttpRequest, pk: int) -> HttpResponse:
    reply = get_object_or_404(QuickReply, pk=pk)
    if request.method == "POST" and request.POST.get("delete"):
        reply.delete()
        flash.success(request, _("Quick reply deleted."))
        return redirect("messaging:quick_replies")
    form = QuickReplyForm(request.POST or None, instance=reply)
    if request.method == "POST" and form.is_valid():
        form.save()
        flash.success(request, _("Quick reply saved."))
        return redirect("messaging:quick_replies")
    return render(request, "messaging/quick_reply_edit.html", {"form": form, "reply": reply})
