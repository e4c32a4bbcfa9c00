"""RFC 9457 problem details: every error the API answers, as ``application/problem+json``.

``type`` points at the section of the API's docs page that explains the problem; ``title`` is
the same for every occurrence of a type, ``detail`` says what happened this time. Titles and
details are translated per ``Accept-Language`` (Django's LocaleMiddleware picks the language).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _

CONTENT_TYPE = "application/problem+json"
DOCS = "/api/docs"


def _titles() -> dict[str, str]:
    return {
        "missing-key": _("API key missing"),
        "bad-key": _("API key not recognised"),
        "expired-key": _("API key expired"),
        "revoked-key": _("API key revoked"),
        "missing-scope": _("Scope missing"),
        "ip-not-allowed": _("Address not allowed"),
        "rate-limited": _("Too many requests"),
        "not-found": _("Not found"),
        "booking-refused": _("Booking refused"),
        "slot-taken": _("Slot taken"),
        "patient-busy": _("Animal already booked"),
        "stale": _("Appointment changed meanwhile"),
        "already-done": _("Nothing to do"),
        "bad-phone": _("Malformed phone number"),
        "idempotency-mismatch": _("Idempotency key reused with another body"),
        "validation": _("Invalid request"),
        "no-account": _("Client without a portal account"),
        "waitlist-refused": _("Waitlist refused"),
        "unavailable": _("Temporarily unavailable"),
    }


class Problem(Exception):
    """Raised anywhere under an API view; the API's exception handler answers with it."""

    def __init__(self, status: int, kind: str, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or kind)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": f"{DOCS}#{self.kind}",
            "title": _titles().get(self.kind, self.kind),
            "status": self.status,
        }
        if self.detail:
            data["detail"] = self.detail
        data.update(self.extra)
        return data

    def response(self) -> HttpResponse:
        return problem_response(self.status, self.body(), self.headers)


def problem_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=CONTENT_TYPE
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def problem_kinds() -> dict[str, str]:
    """Every problem type and its title (the docs page lists them)."""
    return _titles()
