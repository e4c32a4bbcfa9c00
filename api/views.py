"""The manager's API keys page, and the API's public description page."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from api import models as api_models
from api.forms import ApiKeyForm
from api.models import ApiKey
from api.problems import problem_kinds
from portal.access import manager_required
from portal.models import Clinic


def _keys_context(now: datetime) -> dict:
    keys = list(ApiKey.objects.select_related("created_by"))
    for key in keys:
        key.current_state = key.state(now)
    return {"keys": keys}


@manager_required
@require_http_methods(["GET", "POST"])
def keys(request: HttpRequest) -> HttpResponse:
    """The keys and a form for a new one. The new key's token is shown in this response only
    (the page is no-store, like every page): afterwards only its prefix exists."""
    now = timezone.now()
    form = ApiKeyForm(request.POST or None)
    token = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        expires_at = None
        if data["expires_on"]:
            tz = Clinic.current().tz
            expires_at = datetime.combine(data["expires_on"] + timedelta(days=1), time(0), tz)
        _key, token = ApiKey.issue(
            name=data["name"],
            scopes=data["scopes"],
            channel=data["channel"],
            created_by=request.user,
            allowed_networks=data["allowed_networks"],
            expires_at=expires_at,
            rate_per_minute=data["rate_per_minute"],
            now=now,
        )
        form = ApiKeyForm()
    status = 422 if request.method == "POST" and token is None else 200
    return render(
        request,
        "api/keys.html",
        {"form": form, "token": token, **_keys_context(now)},
        status=status,
    )


@manager_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = ApiKey.objects.filter(pk=pk).first()
    if key is None:
        raise Http404
    if api_models.revoke(key):
        messages.success(request, _("The key “%(name)s” is revoked.") % {"name": key.name})
    else:
        messages.info(request, _("This key was already revoked."))
    return redirect("api:keys")


# Public: no credential, no data — the API's description, which integrators read before they
# hold a key (the OpenAPI document at /api/openapi.json is public for the same reason).
@login_not_required
@require_GET
def docs(request: HttpRequest) -> HttpResponse:
    """The operations listed from the OpenAPI document, and every problem type (the ``type`` of
    an error points at its entry here). A server-rendered page: Swagger UI's scripts would need
    a laxer Content-Security-Policy than the site's."""
    from api.endpoints import router

    operations = []
    for path, view in router.path_operations.items():
        for operation in view.operations:
            scopes = [getattr(auth, "scope", None) for auth in operation.auth_callbacks]
            scope = next((s for s in scopes if s), None)
            operations.append(
                {
                    "method": ", ".join(operation.methods),
                    "path": "/api/v1" + path,
                    "summary": operation.summary,
                    "description": operation.description,
                    "scope": scope,
                    "scope_label": api_models.Scope(scope).label if scope else "",
                }
            )
    return render(
        request,
        "api/docs.html",
        {"operations": operations, "problems": sorted(problem_kinds().items())},
    )
