"""/healthz and /readyz: cheap JSON for a process manager, a load balancer or a monitor.

Answered by the first middleware, before sessions, CSRF, the clinic lookup or the URL
resolver: no cookie is read or set, nothing is logged in the access log, and the answer holds
no personal or health data.

- ``/healthz`` (liveness): the process answers. Always 200 while it can run Python.
- ``/readyz`` (readiness): 200 when everything a request needs works, else 503 with the
  failing checks named: the database (``SELECT 1``), Redis when ``REDIS_URL`` is set (a PING
  with a short timeout, straight to the server, not through the fail-soft cache), a task
  worker serving each queue (a heartbeat seen in the last 30 s, see the ``worker`` command),
  and the master keys (a value sealed and opened with the current key).
"""

import json
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

HEALTH_PATHS = ("/healthz", "/readyz")
HEARTBEAT_FRESH = timedelta(seconds=30)


def _json(payload: dict, status: int) -> HttpResponse:
    response = HttpResponse(json.dumps(payload), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return {"ok": False, "error": error.__class__.__name__}
    return {"ok": True}


def check_redis() -> dict | None:
    url = getattr(settings, "REDIS_URL", None)
    if not url:
        return None
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as error:
        return {"ok": False, "error": error.__class__.__name__}
    return {"ok": True}


def served_queues(spec: str, known: list[str]) -> set[str]:
    """The queues a worker's ``--queue-name``/``--exclude-queues`` spec covers ("* -sms")."""
    included, _, excluded = spec.partition(" -")
    names = set(included.split(","))
    covered = set(known) if "*" in names else names & set(known)
    return covered - set(excluded.split(","))


def check_workers() -> dict:
    from portal.models import WorkerHeartbeat

    known = list(settings.TASKS["default"].get("QUEUES") or ["default"])
    try:
        live = list(
            WorkerHeartbeat.objects.filter(
                seen_at__gte=timezone.now() - HEARTBEAT_FRESH
            ).values_list("queues", flat=True)
        )
    except DatabaseError as error:
        return {"ok": False, "error": error.__class__.__name__}
    covered: set[str] = set()
    for spec in live:
        covered |= served_queues(spec, known)
    missing = sorted(set(known) - covered)
    result: dict = {"ok": not missing, "workers": len(live)}
    if missing:
        result["queues_without_worker"] = missing
    return result


def check_keys() -> dict:
    from portal.lib import crypto

    try:
        keyring = crypto.keyring_from_settings()
        probe = b"readyz"
        wrapped, blob = crypto.encrypt_bytes(keyring, probe, aad=b"readyz")
        if crypto.decrypt_bytes(keyring, wrapped, blob, aad=b"readyz") != probe:
            return {"ok": False, "error": "mismatch"}
    except Exception as error:  # any failure means reports cannot be read
        return {"ok": False, "error": error.__class__.__name__}
    return {"ok": True}


def readiness() -> tuple[bool, dict]:
    checks = {"database": check_database(), "worker": None, "keys": check_keys()}
    if checks["database"]["ok"]:
        checks["worker"] = check_workers()
    else:
        checks["worker"] = {"ok": False, "error": "database unavailable"}
    redis_check = check_redis()
    if redis_check is not None:
        checks["redis"] = redis_check
    ready = all(check["ok"] for check in checks.values())
    return ready, checks


class HealthMiddleware:
    """Answers the two health paths before any other middleware runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info.rstrip("/")
        if path not in HEALTH_PATHS:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return _json({"error": "method not allowed"}, 405)
        if path == "/healthz":
            return _json({"status": "ok"}, 200)
        started = time.perf_counter()
        ready, checks = readiness()
        payload = {
            "status": "ok" if ready else "unavailable",
            "checks": checks,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        return _json(payload, 200 if ready else 503)
