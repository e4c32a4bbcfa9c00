"""The NinjaAPI object: version, OpenAPI document, and every error as problem details."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from api.endpoints import router
from api.problems import Problem

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Accueil API",
    version="1",
    description="Slots, bookings, clients and messages for phone assistants and partners. "
    "Guide: /api/docs.",
    urls_namespace="api_v1",
    openapi_url="/openapi.json",
    docs_url=None,  # our own page (api.views.docs): ninja's loads scripts our CSP refuses
    # The description is public (no data in it): integrators read it before they have a key.
    docs_decorator=login_not_required,
)
api.add_router("/v1/", router)


@api.exception_handler(Problem)
def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return exc.response()


@api.exception_handler(AuthenticationError)
def _no_key(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    problem = Problem(401, "missing-key", _("Send the key as “Authorization: Bearer <token>”."))
    problem.headers["WWW-Authenticate"] = 'Bearer realm="accueil"'
    return problem.response()


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())[1:]) or None,
            "message": str(error.get("msg", "")),
        }
        for error in exc.errors
    ]
    detail = "; ".join(
        f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors
    )
    return Problem(422, "validation", detail, errors=errors).response()


@api.exception_handler(OperationalError)
def _database_down(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    """The database does not answer (restart, failover): a problem the caller may retry, as
    the portal's pages answer 503 (portal.views.server_error). Nothing was written: every
    write runs in one transaction."""
    logger.error("API call failed: the database is unavailable (%s)", type(exc).__name__)
    problem = Problem(
        503, "unavailable", _("The clinic's system is briefly unavailable: try again shortly.")
    )
    problem.headers["Retry-After"] = "30"
    return problem.response()


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    kind = "not-found" if exc.status_code == 404 else "validation"
    return Problem(exc.status_code, kind, str(exc)).response()


def url_patterns() -> tuple:
    """ninja's URL patterns, each marked public for the deny-by-default middleware: the
    credential every operation checks instead of a session is its API key (api.auth.KeyAuth);
    the OpenAPI document holds no data."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        login_not_required(pattern.callback)
    return patterns, app_name, namespace
