"""Who may call: missing, unknown, expired and revoked keys, scopes, networks, rates, and the
access-log line each call leaves with the key's name."""

from datetime import timedelta

import pytest
from django.core.cache import caches

from api.auth import RATE_PREFIX
from api.models import ApiKey, Scope, hash_token, revoke
from portal.models import AccessLog
from tests.api.conftest import NOW, Api, make_key

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def _problem(response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"] == f"/api/docs#{kind}"
    assert body["title"]
    return body


def test_it_stores_only_a_hash_and_a_prefix(world):
    key, token = make_key(world.manager)
    assert token.startswith("acc_")
    assert len(token) > 40
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.secret_hash == hash_token(token)
    assert token not in str(ApiKey.objects.values().get(pk=key.pk))
    assert token.startswith(stored.prefix)
    assert ApiKey.objects.by_token(token) == key
    assert ApiKey.objects.by_token(token[:-1] + "x") is None


def test_it_refuses_a_call_without_a_key(world):
    body = _problem(Api(None).get("/api/v1/clinic"), 401, "missing-key")
    assert "Bearer" in body["detail"]


def test_it_refuses_an_unknown_key_and_logs_the_refusal(world):
    response = Api("acc_not-a-real-token").get("/api/v1/clinic")
    _problem(response, 401, "bad-key")
    line = AccessLog.objects.get(object_type="api")
    assert line.action == AccessLog.Action.DENIED
    assert "unknown key" in line.detail


def test_it_refuses_an_expired_key(world):
    _key, token = make_key(world.manager, expires_at=NOW - timedelta(seconds=1))
    _problem(Api(token).get("/api/v1/clinic"), 401, "expired-key")


def test_it_refuses_a_revoked_key_at_once(world):
    key, token = make_key(world.manager)
    assert Api(token).get("/api/v1/clinic").status_code == 200
    assert revoke(key)
    assert not revoke(key)  # already revoked: nothing more written
    _problem(Api(token).get("/api/v1/clinic"), 401, "revoked-key")


def test_it_refuses_an_operation_outside_the_keys_scopes(world):
    _key, token = make_key(world.manager, scopes=[Scope.SLOTS_READ])
    api = Api(token)
    assert api.get("/api/v1/services").status_code == 200
    body = _problem(
        api.get("/api/v1/clients/find", {"phone": "+33612345678"}), 403, "missing-scope"
    )
    assert "clients:find" in body["detail"]
    assert "Camille" not in str(body)
    response = api.post(
        "/api/v1/appointments",
        {
            "client_id": world.client.pk,
            "patient_id": world.filou.pk,
            "service_id": world.consultation.pk,
            "starts_at": "2026-06-01T09:00:00+02:00",
        },
    )
    _problem(response, 403, "missing-scope")
    assert not world.client.appointments.exists()


def test_it_refuses_an_address_outside_the_allow_list(world):
    _key, token = make_key(world.manager, allowed_networks=["203.0.113.0/24"])
    api = Api(token)
    _problem(api.get("/api/v1/clinic"), 403, "ip-not-allowed")
    inside = api.http.get(
        "/api/v1/clinic",
        headers=api.headers,
        REMOTE_ADDR="203.0.113.7",
    )
    assert inside.status_code == 200


def test_it_limits_calls_per_key_per_minute_with_retry_after(world):
    _key, token = make_key(world.manager, rate_per_minute=3)
    _other, other_token = make_key(world.manager, name="Partner", rate_per_minute=3)
    api = Api(token)
    for _ in range(3):
        assert api.get("/api/v1/clinic").status_code == 200
    response = api.get("/api/v1/clinic")
    body = _problem(response, 429, "rate-limited")
    # NOW is 10:00:00 sharp: the window ends in 60 s.
    assert response["Retry-After"] == "60"
    assert "3" in body["detail"]
    assert Api(other_token).get("/api/v1/clinic").status_code == 200  # per key


def test_every_call_is_in_the_access_log_with_the_keys_name(world):
    key, token = make_key(world.manager, name="Standard vocal")
    Api(token).get("/api/v1/clients/find", {"phone": "+33612345678"})
    line = AccessLog.objects.filter(object_type="api").latest("pk")
    assert line.action == AccessLog.Action.VIEW
    assert "Standard vocal" in line.detail
    assert key.prefix in line.detail
    assert line.object_id == "clients_find"
    assert "/api/v1/clients/find" in line.detail
    assert "+336" not in line.detail  # the query string (a phone number) is not logged


def test_the_rate_limit_still_holds_while_redis_is_down(world, settings):
    """Redis gone: the fail-soft cache counts ``api:rate:`` keys in this process's memory
    (portal/lib/cache.py), so the limit degrades to per-process instead of vanishing."""
    from portal.lib import cache as failsoft

    failsoft._breakers.clear()
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.lib.cache.FailSoftRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "KEY_PREFIX": "api-outage",
            "RETRY_AFTER": 30,
            "LOCAL_WHEN_DOWN": ["allauth:rl:", "messaging:rate:", RATE_PREFIX],
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    try:
        _key, token = make_key(world.manager, rate_per_minute=2)
        api = Api(token)
        assert api.get("/api/v1/clinic").status_code == 200
        assert api.get("/api/v1/clinic").status_code == 200
        _problem(api.get("/api/v1/clinic"), 429, "rate-limited")
    finally:
        caches["default"]._local.clear()
        failsoft._breakers.clear()


def test_settings_keep_the_api_rate_local_when_redis_is_down():
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "portal" / "settings.py").read_text()
    listed = source.split('"LOCAL_WHEN_DOWN":', 1)[1].split("]", 1)[0]
    assert f'"{RATE_PREFIX}"' in listed


def test_problem_titles_follow_accept_language(world):
    body = Api(None, language="fr").get("/api/v1/clinic").json()
    assert body["status"] == 401
    assert body["title"] == "Clé d\u2019API absente"


def test_the_managers_access_log_page_shows_the_keys_calls(world, as_manager):
    from django.urls import reverse

    _key, token = make_key(world.manager, name="Standard vocal")
    Api(token).get("/api/v1/clients/find", {"phone": "+33612345678"})
    html = as_manager.get(reverse("portal:access_log")).content.decode()
    assert "Standard vocal" in html
    assert "/api/v1/clients/find" in html
