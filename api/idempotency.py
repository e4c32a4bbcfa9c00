"""``Idempotency-Key`` on write endpoints: a retry gets the first answer, never a second write.

The answer row is inserted in the same transaction as the write it describes. Two requests
with the same key at once both try to insert it: PostgreSQL makes the second wait on the unique
index until the first commits, then refuses it (IntegrityError), and the second reads the first
one's answer; SQLite's IMMEDIATE transactions run them one after the other. A key reused with
a different body (another slot, another animal) is refused with 409: that is a new request
that re-used a key by mistake, and answering the old response would hide it.

Refusals the caller can act on (slot taken, outside hours...) are stored too: a retry of the
same body gets the same refusal. An unexpected error stores nothing (its transaction rolls
back), so the retry is tried again.

Answers are kept for a day (``KEPT``), as payment APIs do: long enough for any retry loop,
short enough that the table stays small. A key reused after that is a new request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import ApiKey, IdempotentRequest
from api.problems import CONTENT_TYPE, Problem, problem_response

HEADER = "Idempotency-Key"
MAX_LENGTH = 200
KEPT = timedelta(hours=24)

Answer = tuple[int, dict[str, Any]]


def body_hash(request: HttpRequest) -> str:
    """What makes two requests "the same": method, path and body (JSON re-serialised with
    sorted keys, so spacing and key order do not count)."""
    raw = request.body or b""
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = raw
    return hashlib.sha256(
        request.method.encode() + b" " + request.path.encode() + b"\n" + canonical
    ).hexdigest()


def _replay(row: IdempotentRequest, digest: str) -> HttpResponse:
    if row.body_hash != digest:
        raise Problem(
            409,
            "idempotency-mismatch",
            _("This Idempotency-Key was used with a different request: use a new key."),
        )
    content_type = CONTENT_TYPE if row.status >= 400 else "application/json"
    response = HttpResponse(
        json.dumps(row.response, ensure_ascii=False), status=row.status, content_type=content_type
    )
    response["Idempotent-Replayed"] = "true"
    return response


def run(request: HttpRequest, key: ApiKey, write: Callable[[], Answer]) -> HttpResponse:
    """Call ``write`` (which returns a status and a JSON body, or raises Problem) at most once
    per Idempotency-Key; without the header, just call it."""
    idem = request.headers.get(HEADER, "").strip()
    if not idem:
        try:
            status, body = write()
        except Problem as problem:
            return problem.response()
        return _json(status, body)
    if len(idem) > MAX_LENGTH:
        raise Problem(
            422,
            "validation",
            _("The Idempotency-Key is at most %(n)s characters.") % {"n": MAX_LENGTH},
        )
    digest = body_hash(request)
    # This key's answers past their day go first (indexed by time; a few rows at most).
    IdempotentRequest.objects.filter(api_key=key, created_at__lt=timezone.now() - KEPT).delete()
    existing = IdempotentRequest.objects.filter(api_key=key, key=idem).first()
    if existing is not None:
        return _replay(existing, digest)
    try:
        with transaction.atomic():
            # First: a concurrent duplicate waits here (PostgreSQL's unique index) or before
            # this transaction even starts (SQLite), and never reaches the write.
            row = IdempotentRequest.objects.create(
                api_key=key, key=idem, body_hash=digest, status=0, response={}
            )
            try:
                with transaction.atomic():
                    status, body = write()
                problem = None
            except Problem as refused:
                problem = refused
                status, body = refused.status, refused.body()
            row.status, row.response = status, body
            row.save(update_fields=["status", "response"])
    except IntegrityError:
        existing = IdempotentRequest.objects.filter(api_key=key, key=idem).first()
        if existing is None:
            raise
        return _replay(existing, digest)
    if problem is not None:
        return problem_response(status, body, problem.headers)
    return _json(status, body)


def _json(status: int, body: dict[str, Any]) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
    )
