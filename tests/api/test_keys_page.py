"""The manager's keys page: a key is created with its settings, its token shown once, then
only its prefix; revoking takes effect at the next call. Other roles are refused."""

import pytest
from django.urls import reverse

from api.models import ApiKey, hash_token
from tests import factories
from tests.api.conftest import NOW, Api

pytestmark = pytest.mark.django_db


def _create(as_manager, **fields):
    data = {
        "name": "Standard vocal",
        "scopes": ["slots:read", "book"],
        "channel": "phone",
        "allowed_networks": "",
        "expires_on": "",
        "rate_per_minute": "30",
        **fields,
    }
    return as_manager.post(reverse("api:keys"), data)


def _token_in(html: str) -> str:
    marker = 'data-testid="api-token"'
    tag = html[html.rindex("<input", 0, html.index(marker)) :]
    tag = tag[: tag.index(">")]
    return tag.split('value="')[1].split('"')[0]


def test_the_manager_creates_a_key_and_sees_its_token_once(world, as_manager):
    response = _create(as_manager, allowed_networks="203.0.113.0/24\n2001:db8::/32")
    assert response.status_code == 200
    html = response.content.decode()
    token = _token_in(html)
    key = ApiKey.objects.get()
    assert key.secret_hash == hash_token(token)
    assert key.name == "Standard vocal"
    assert key.rate_per_minute == 30
    assert key.scopes == ["book", "slots:read"]
    assert key.allowed_networks == ["203.0.113.0/24", "2001:db8::/32"]
    assert key.created_by.role == "manager"
    again = as_manager.get(reverse("api:keys")).content.decode()
    assert token not in again
    assert key.prefix in again
    assert "Standard vocal" in again


def test_the_page_is_french_first(world, manager):
    http = factories.verified_http_client(manager)
    http.cookies.load({"django_language": "fr"})
    html = http.get(reverse("api:keys"), headers={"Accept-Language": "fr"}).content.decode()
    assert "Clés d\u2019API" in html
    assert "Créer la clé" in html


def test_bad_input_shows_why_and_creates_nothing(world, as_manager):
    response = _create(as_manager, allowed_networks="not-a-network", scopes=[])
    assert response.status_code == 422
    html = response.content.decode()
    assert "not-a-network" in html
    assert "This field is required" in html
    assert not ApiKey.objects.exists()


def test_expiry_is_the_end_of_the_chosen_day(world, as_manager):
    _create(as_manager, expires_on="2026-06-30")
    key = ApiKey.objects.get()
    assert key.expires_at.isoformat() == "2026-06-30T22:00:00+00:00"  # midnight Paris


def test_revoking_stops_the_next_call(world, as_manager):
    token = _token_in(_create(as_manager).content.decode())
    assert Api(token).get("/api/v1/services").status_code == 200
    key = ApiKey.objects.get()
    response = as_manager.post(reverse("api:key_revoke", args=[key.pk]), follow=True)
    assert "is revoked" in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at == NOW
    assert Api(token).get("/api/v1/services").status_code == 401


def test_other_roles_are_refused(world, as_reception, as_vet, as_client):
    key, _token = ApiKey.issue(name="x", scopes=[], channel="phone", created_by=world.manager)
    for http in (as_reception, as_vet, as_client):
        assert http.get(reverse("api:keys")).status_code == 403
        assert http.post(reverse("api:key_revoke", args=[key.pk])).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None
    assert not ApiKey.objects.exclude(pk=key.pk).exists()


def test_an_unknown_key_id_is_404(world, as_manager):
    assert as_manager.post(reverse("api:key_revoke", args=[987654])).status_code == 404


def test_the_managers_navigation_links_to_the_keys(world, as_manager, as_reception):
    assert reverse("api:keys") in as_manager.get(reverse("portal:home")).content.decode()
    assert reverse("api:keys") not in as_reception.get(reverse("portal:home")).content.decode()


def test_the_keys_list_is_bounded_in_queries(world, as_manager, django_assert_max_num_queries):
    for n in range(5):
        ApiKey.issue(name=f"k{n}", scopes=["book"], channel="phone", created_by=world.manager)
    with django_assert_max_num_queries(20):
        assert as_manager.get(reverse("api:keys")).status_code == 200
    for n in range(20):
        ApiKey.issue(name=f"m{n}", scopes=["book"], channel="phone", created_by=world.manager)
    with django_assert_max_num_queries(20):
        assert as_manager.get(reverse("api:keys")).status_code == 200
