"""The access log, read: managers browse, filter and export it; nobody edits it.

The pages only read. There is no form to change or remove a line, every view answers GET only
(anything else is a 405 page saying the log cannot be changed), and the model and the database
refuse changes anyway (portal.models.AccessLog). Exporting is itself a line in the log.
"""

import csv
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, time, timedelta
from functools import wraps

from asgiref.sync import sync_to_async
from django import forms
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from portal.access import log_access, manager_required
from portal.lib.widgets import IsoDateInput
from portal.models import AccessLog, Role

PER_PAGE = 50
CSV_BATCH = 500  # rows per chunk of the streamed export

# What the log's object types mean to a person; an unknown type is shown as it is stored.
OBJECT_TYPES = {
    "patient": gettext_lazy("Patient file"),
    "patient_photo": gettext_lazy("Patient photo"),
    "report": gettext_lazy("Report"),
    "appointment": gettext_lazy("Appointment"),
    "conversation": gettext_lazy("Conversation"),
    "attachment": gettext_lazy("Message attachment"),
    "calendar_feed": gettext_lazy("Calendar feed"),
    "page": gettext_lazy("Staff page"),
    "access_log": gettext_lazy("Access log"),
    "data_export": gettext_lazy("Data export"),
}


def object_label(object_type: str) -> str:
    return str(OBJECT_TYPES.get(object_type, object_type))


class _Echo:
    """csv.writer writes into this and gets the line back, for a streamed response."""

    def write(self, value: str) -> str:
        return value


class AccessLogFilter(forms.Form):
    who = forms.CharField(
        label=gettext_lazy("Who (name or e-mail)"), required=False, max_length=100
    )
    what = forms.ChoiceField(label=gettext_lazy("What"), required=False)
    object_id = forms.CharField(label=gettext_lazy("Number"), required=False, max_length=64)
    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=IsoDateInput())
    end = forms.DateField(label=gettext_lazy("To"), required=False, widget=IsoDateInput())
    action = forms.ChoiceField(label=gettext_lazy("Outcome"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        everything = [("", pgettext("access log filter", "All"))]
        self.fields["what"].choices = everything + [
            (key, str(label)) for key, label in OBJECT_TYPES.items()
        ]
        self.fields["action"].choices = everything + list(AccessLog.Action.choices)

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date must come before the end date."))
        return data

    def lines(self) -> QuerySet[AccessLog]:
        """The lines matching the filter, newest first; none when the filter is invalid.

        Dates are the clinic's calendar days (the request's zone): "to" includes its whole day.
        """
        if not self.is_valid():
            return AccessLog.objects.none()
        data = self.cleaned_data
        found = AccessLog.objects.select_related("user").order_by("-at", "-pk")
        if who := data["who"].strip():
            found = found.filter(
                Q(user__email__icontains=who)
                | Q(user__first_name__icontains=who)
                | Q(user__last_name__icontains=who)
            )
        if data["what"]:
            found = found.filter(object_type=data["what"])
        if object_id := data["object_id"].strip():
            found = found.filter(object_id=object_id)
        if data["action"]:
            found = found.filter(action=data["action"])
        zone = timezone.get_current_timezone()
        if data["start"]:
            found = found.filter(at__gte=datetime.combine(data["start"], time(), tzinfo=zone))
        if data["end"]:
            day_after = data["end"] + timedelta(days=1)
            found = found.filter(at__lt=datetime.combine(day_after, time(), tzinfo=zone))
        return found


async def _async_chunks(chunks: Iterator[str]) -> AsyncIterator[str]:
    """The same chunks for an ASGI server: given a plain iterator, Django's ASGI handler would
    read the whole export into memory first. Each batch is read from the database on the
    thread that runs sync code (thread_sensitive), where the query's cursor lives."""
    next_chunk = sync_to_async(next, thread_sensitive=True)
    while (chunk := await next_chunk(chunks, None)) is not None:
        yield chunk


def read_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """GET and HEAD only; anything else is a 405 that says why (the log cannot be changed)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = render(request, "portal/audit/read_only.html", status=405)
            response["Allow"] = "GET, HEAD"
            return response
        return view(request, *args, **kwargs)

    return wrapped


def _filter_form(request: HttpRequest) -> AccessLogFilter:
    return AccessLogFilter(request.GET if request.GET else None)


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@manager_required
@read_only
def access_log(request: HttpRequest) -> HttpResponse:
    form = _filter_form(request)
    lines = form.lines() if form.is_bound else AccessLog.objects.select_related("user")
    page = Paginator(lines, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/audit/log.html",
        {
            "form": form,
            "page": page,
            "rows": [(line, object_label(line.object_type)) for line in page.object_list],
            "query": _query_without_page(request),
        },
    )


@manager_required
@read_only
def access_log_export(request: HttpRequest) -> HttpResponse:
    """The filtered lines as CSV, streamed (the log may be long); the export is logged first."""
    form = _filter_form(request)
    if form.is_bound and not form.is_valid():
        return render(
            request,
            "portal/audit/log.html",
            {"form": form, "page": None, "rows": [], "query": _query_without_page(request)},
            status=400,
        )
    lines = form.lines() if form.is_bound else AccessLog.objects.select_related("user")
    log_access(
        request,
        action=AccessLog.Action.DOWNLOAD,
        object_type="access_log",
        object_id="",
        detail=_query_without_page(request),
    )
    # The zone and the language are those of this request: the response is streamed after the
    # middleware has put them back, so everything shown is settled here.
    zone = timezone.get_current_timezone()
    header = [
        _("When"),
        _("Who"),
        _("E-mail"),
        _("Role"),
        _("Outcome"),
        _("What"),
        _("Number"),
        _("Detail"),
        _("IP address"),
    ]
    actions = {key: str(label) for key, label in AccessLog.Action.choices}
    roles = {key: str(label) for key, label in Role.choices}
    objects = {key: str(label) for key, label in OBJECT_TYPES.items()}
    nobody = _("nobody signed in")

    def rows() -> Iterator[list[str]]:
        yield header
        for line in lines.iterator(chunk_size=2000):
            user = line.user
            yield [
                line.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                user.get_full_name() if user else nobody,
                user.email if user else "",
                roles.get(user.role, user.role) if user else "",
                actions.get(line.action, line.action),
                objects.get(line.object_type, line.object_type),
                line.object_id,
                line.detail,
                line.ip or "",
            ]

    writer = csv.writer(_Echo())

    def chunks() -> Iterator[str]:
        batch: list[str] = []
        for row in rows():
            batch.append(writer.writerow(row))
            if len(batch) == CSV_BATCH:
                yield "".join(batch)
                batch = []
        yield "".join(batch)

    stamp = timezone.now().astimezone(zone).strftime("%Y-%m-%d")
    content = _async_chunks(chunks()) if isinstance(request, ASGIRequest) else chunks()
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.csv"'
    response["Cache-Control"] = "no-store, private"
    return response
