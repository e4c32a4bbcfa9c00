"""Request ids, one log line per request and per websocket, and JSON lines in production.

``ACCUEIL_LOG_FORMAT=json`` (the Procfile sets it) makes every log record one JSON object per
line: time, level, logger, message, and the request id of the request being served. The
per-request line (logger ``accueil.request``) carries request id, user id, method, path, status
and duration; the per-websocket line (``accueil.websocket``) the path, user id, close code and
duration. Neither carries a query string, a body, a name or anything typed: paths hold only
ids, and health data never reaches a log line.

The request id is the proxy's ``X-Request-ID`` when a trusted proxy is in front
(ACCUEIL_TRUSTED_PROXY_COUNT ≥ 1 and the header is well formed), else a fresh one; the response
carries it back so a person reporting a problem can quote it.
"""

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

request_log = logging.getLogger("accueil.request")
websocket_log = logging.getLogger("accueil.websocket")

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "accueil_request_id", default=""
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Static files (nginx serves them in production). Health checks never get here: HealthMiddleware,
# first in the stack, answers them.
_QUIET_PATHS = ("/static/",)


class RequestIdFilter(logging.Filter):
    """Adds the current request id to every record (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = current_request_id.get()
        return True


def request_id_for(request: HttpRequest) -> str:
    offered = request.headers.get("x-request-id", "")
    if settings.ALLAUTH_TRUSTED_PROXY_COUNT and _REQUEST_ID.match(offered):
        return offered
    return uuid.uuid4().hex


def _user_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


class RequestLogMiddleware:
    """Gives each request an id and logs one line when it is answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_for(request)
        token = current_request_id.set(request.request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request.request_id
        if not request.path.startswith(_QUIET_PATHS):
            request_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "request_id": request.request_id,
                    "user_id": _user_id(request),
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        return response


class WebsocketLogMiddleware:
    """ASGI middleware: one line per websocket when it ends (path, user id, close code)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        state: dict = {"code": None, "accepted": False}

        async def logged_receive():
            message = await receive()
            if message["type"] == "websocket.disconnect" and state["code"] is None:
                state["code"] = message.get("code", 1005)
            return message

        async def logged_send(message):
            if message["type"] == "websocket.accept":
                state["accepted"] = True
            elif message["type"] == "websocket.close" and state["code"] is None:
                state["code"] = message.get("code", 1000)
            return await send(message)

        try:
            return await self.app(scope, logged_receive, logged_send)
        finally:
            user = scope.get("user")
            user_id = user.pk if user is not None and user.is_authenticated else None
            code = state["code"] if state["accepted"] or state["code"] else 403
            websocket_log.info(
                "websocket %s closed %s",
                scope.get("path", ""),
                code,
                extra={
                    "user_id": user_id,
                    "path": scope.get("path", ""),
                    "close_code": code,
                    "accepted": state["accepted"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )


def logging_config(*, level: str, fmt: str, request_lines: bool) -> dict:
    """The LOGGING dict: plain lines for `make run`, JSON lines in production."""
    formatters = {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "portal.lib.logs.RequestIdFilter"}},
        "formatters": formatters,
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "daphne": {"level": "WARNING"},
            "django.channels.server": {"level": "WARNING"},
            # Our own request lines replace the servers' access logs.
            "gunicorn.access": {"level": "WARNING"},
            "accueil.request": {"level": "INFO" if request_lines else "WARNING"},
            "accueil.websocket": {"level": "INFO" if request_lines else "WARNING"},
            # Rendering a report PDF (records, also during seed_demo) made WeasyPrint and
            # fontTools' subsetter log a hundred INFO lines around the demo logins.
            "weasyprint": {"level": "WARNING"},
            "fontTools": {"level": "WARNING"},
        },
    }
