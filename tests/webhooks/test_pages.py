"""The manager's pages: add an endpoint (the secret once), its deliveries, replay, disable; who
else is refused; ids that name nothing here are 404."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.booking.conftest import NOW
from webhooks import services
from webhooks.models import Delivery, Endpoint, Status

pytestmark = pytest.mark.usefixtures("frozen")


def _delivery(endpoint, **fields) -> Delivery:
    defaults = {
        "event_id": "evt_0123",
        "event_type": "appointment.booked",
        "body": '{"type":"appointment.booked","id":"evt_0123"}',
        "next_attempt_at": timezone.now(),
        "created_at": timezone.now(),
    }
    defaults.update(fields)
    return Delivery.objects.create(endpoint=endpoint, **defaults)


def test_the_manager_adds_an_endpoint_and_sees_its_secret_once(as_manager, clinic):
    response = as_manager.post(
        reverse("webhooks:endpoint_new"),
        {
            "name": "Assistant vocal",
            "url": "https://hooks.example.org/accueil",
            "events": ["appointment.booked", "slot.released"],
        },
    )
    assert response.status_code == 201
    endpoint = Endpoint.objects.get()
    assert endpoint.events == ["appointment.booked", "slot.released"]
    secret = response.context["secret"]
    assert secret.startswith("whsec_")
    assert secret in response.content.decode()
    assert services.endpoint_secret(endpoint) == secret
    assert secret.encode() not in bytes(endpoint.secret_blob)  # encrypted at rest
    for url in (reverse("webhooks:endpoints"), reverse("webhooks:endpoint", args=[endpoint.pk])):
        page = as_manager.get(url).content.decode()
        assert "Assistant vocal" in page
        assert secret not in page


@pytest.mark.parametrize(
    ("url", "events", "message"),
    [
        ("http://hooks.example.org/", ["appointment.booked"], "Use an https:// address"),
        ("https://", ["appointment.booked"], "Enter a valid URL"),
        ("https://hooks.example.org/", [], "Choose at least one event."),
        ("https://hooks.example.org/", ["patient.record"], "Select a valid choice"),
    ],
)
def test_bad_input_says_why_and_changes_nothing(as_manager, clinic, url, events, message):
    response = as_manager.post(
        reverse("webhooks:endpoint_new"), {"name": "X", "url": url, "events": events}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Endpoint.objects.exists()


def test_plain_http_to_this_machine_only_when_allowed(as_manager, clinic, settings):
    data = {"name": "Local", "url": "http://127.0.0.1:9/h", "events": ["appointment.booked"]}
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = False
    assert as_manager.post(reverse("webhooks:endpoint_new"), data).status_code == 200
    assert not Endpoint.objects.exists()
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True
    assert as_manager.post(reverse("webhooks:endpoint_new"), data).status_code == 201


def test_the_deliveries_list_shows_statuses_in_few_queries(
    as_manager, endpoint, django_assert_max_num_queries
):
    for n in range(60):
        _delivery(endpoint, status=Status.DELIVERED if n % 2 else Status.RETRYING)
    _delivery(endpoint, status=Status.FAILED, last_error="answered HTTP 500")
    with django_assert_max_num_queries(12):
        response = as_manager.get(reverse("webhooks:endpoint", args=[endpoint.pk]))
    page = response.content.decode()
    assert "Delivered" in page
    assert "Retrying" in page
    assert "answered HTTP 500" in page
    failed = as_manager.get(reverse("webhooks:endpoint", args=[endpoint.pk]), {"status": "failed"})
    assert failed.context["page"].paginator.count == 1
    with django_assert_max_num_queries(10):
        listing = as_manager.get(reverse("webhooks:endpoints"))
    assert listing.context["endpoints"][0].waiting == 30


def test_a_delivery_page_shows_its_attempts(as_manager, endpoint):
    row = _delivery(endpoint, status=Status.RETRYING, attempts=1, last_error="answered HTTP 500")
    row.attempt_rows.create(at=NOW, status_code=500, error="answered HTTP 500", duration_ms=42)
    page = as_manager.get(reverse("webhooks:delivery", args=[endpoint.pk, row.pk])).content.decode()
    assert "HTTP 500" in page
    assert "42 ms" in page
    assert "evt_0123" in page


def test_replay_and_disable_through_the_pages(as_manager, endpoint):
    row = _delivery(endpoint, status=Status.FAILED)
    response = as_manager.post(reverse("webhooks:replay", args=[endpoint.pk, row.pk]))
    copy = Delivery.objects.exclude(pk=row.pk).get()
    assert response.url == reverse("webhooks:delivery", args=[endpoint.pk, copy.pk])
    assert (copy.event_id, copy.status, copy.replay_of_id) == ("evt_0123", "pending", row.pk)
    as_manager.post(reverse("webhooks:endpoint_active", args=[endpoint.pk]), {"active": "0"})
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_at == NOW
    # A disabled endpoint replays nothing.
    as_manager.post(reverse("webhooks:replay", args=[endpoint.pk, row.pk]))
    assert Delivery.objects.count() == 2
    as_manager.post(reverse("webhooks:endpoint_active", args=[endpoint.pk]), {"active": "1"})
    endpoint.refresh_from_db()
    assert endpoint.is_active


def _urls(endpoint, row) -> list[tuple[str, str]]:
    return [
        ("get", reverse("webhooks:endpoints")),
        ("get", reverse("webhooks:endpoint_new")),
        ("post", reverse("webhooks:endpoint_new")),
        ("get", reverse("webhooks:endpoint", args=[endpoint.pk])),
        ("post", reverse("webhooks:endpoint_active", args=[endpoint.pk])),
        ("get", reverse("webhooks:delivery", args=[endpoint.pk, row.pk])),
        ("post", reverse("webhooks:replay", args=[endpoint.pk, row.pk])),
    ]


def test_reception_vets_and_clients_are_refused(as_reception, as_vet, as_client, endpoint):
    row = _delivery(endpoint)
    for http in (as_reception, as_vet, as_client):
        for method, url in _urls(endpoint, row):
            response = getattr(http, method)(url, {"active": "0"} if method == "post" else None)
            assert response.status_code == 403, (method, url)
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert Delivery.objects.count() == 1


def test_ids_that_name_nothing_here_are_404(as_manager, endpoint, manager):
    row = _delivery(endpoint)
    other, _secret = services.create_endpoint(
        name="Other", url="https://example.org/o", events=["appointment.booked"], by=manager
    )
    missing = endpoint.pk + other.pk + 100
    assert as_manager.get(reverse("webhooks:endpoint", args=[missing])).status_code == 404
    # A delivery under another endpoint's URL.
    under_other = reverse("webhooks:delivery", args=[other.pk, row.pk])
    assert as_manager.get(under_other).status_code == 404
    assert as_manager.post(reverse("webhooks:replay", args=[other.pk, row.pk])).status_code == 404
    assert Delivery.objects.count() == 1


def test_anonymous_is_sent_to_sign_in(client, endpoint):
    response = client.get(reverse("webhooks:endpoint", args=[endpoint.pk]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_the_pages_speak_french(as_manager, endpoint):
    _delivery(endpoint, status=Status.DELIVERED, created_at=NOW - timedelta(hours=1))
    page = as_manager.get(
        reverse("webhooks:endpoint", args=[endpoint.pk]), headers={"accept-language": "fr"}
    ).content.decode()
    assert "Livraisons" in page
    assert "Livré" in page
    assert "Rendez-vous réservé" in page
