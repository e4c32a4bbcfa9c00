"""/healthz and /readyz: JSON, no session, and a 503 naming what is not ready."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import OperationalError
from django.test import override_settings

from portal import health
from portal.models import WorkerHeartbeat

NOW = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)  # a Sunday, 23:30 in Paris


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def beat(queues: str, *, age: timedelta = timedelta(seconds=3), worker_id: str = "w1"):
    return WorkerHeartbeat.objects.create(
        worker_id=worker_id,
        queues=queues,
        hostname="test",
        pid=1,
        started_at=NOW - timedelta(hours=1),
        seen_at=NOW - age,
    )


def test_healthz_answers_without_touching_the_database_or_setting_a_cookie(client):
    # No db fixture: pytest-django fails any query, so this also proves the check is free.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert not response.cookies
    assert response["Cache-Control"] == "no-store"


@pytest.mark.usefixtures("frozen")
def test_readyz_is_ready_with_a_worker_on_every_queue(db, client, settings):
    settings.REDIS_URL = None
    beat("*")
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["keys"] == {"ok": True}
    assert body["checks"]["worker"] == {"ok": True, "workers": 1}
    assert "redis" not in body["checks"]
    assert not response.cookies


@pytest.mark.usefixtures("frozen")
def test_readyz_names_the_queue_nobody_serves(db, client, settings):
    settings.REDIS_URL = None
    settings.TASKS = {"default": {**settings.TASKS["default"], "QUEUES": ["default", "sms"]}}
    beat("* -sms")
    response = client.get("/readyz")
    assert response.status_code == 503
    worker = response.json()["checks"]["worker"]
    assert worker["ok"] is False
    assert worker["queues_without_worker"] == ["sms"]


@pytest.mark.usefixtures("frozen")
def test_a_silent_worker_is_not_counted(db, client, settings):
    settings.REDIS_URL = None
    beat("*", age=timedelta(minutes=2))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["workers"] == 0


def test_readyz_says_the_database_is_down(db, client, settings, monkeypatch):
    settings.REDIS_URL = None

    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:  # undone before the test database is rolled back
        patch.setattr(health.connection, "cursor", broken_cursor)
        response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == {"ok": False, "error": "OperationalError"}
    assert checks["worker"]["ok"] is False


@pytest.mark.usefixtures("frozen")
def test_readyz_says_the_master_keys_cannot_be_used(db, client, settings, monkeypatch):
    settings.REDIS_URL = None
    beat("*")
    from portal.lib import crypto

    def unreadable():
        raise crypto.CryptoError("no key")

    monkeypatch.setattr(crypto, "keyring_from_settings", unreadable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["keys"] == {"ok": False, "error": "CryptoError"}


@pytest.mark.usefixtures("frozen")
def test_readyz_says_redis_is_down_when_it_is_configured(db, client, settings):
    beat("*")
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):  # nothing listens on port 1
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False


def test_health_paths_refuse_writes(client):
    response = client.post("/readyz")
    assert response.status_code == 405
    assert json.loads(response.content) == {"error": "method not allowed"}


@pytest.mark.parametrize(
    ("spec", "covered"),
    [
        ("*", {"default", "email", "sms"}),
        ("* -sms", {"default", "email"}),
        ("sms", {"sms"}),
        ("default,email", {"default", "email"}),
        ("other", set()),
    ],
)
def test_served_queues(spec, covered):
    assert health.served_queues(spec, ["default", "email", "sms"]) == covered
