"""Calendar feeds (#11): a vet's own, no animal names unless chosen, expiring, renewable, and
dead as soon as the account or the practitioner is deactivated."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from booking.models import CalendarFeed, Practitioner
from tests import factories
from tests.booking.conftest import NOW

# The clock stands at NOW, the Friday before DAY at 10:00 in Paris (tests/booking/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen")

FR = {"accept-language": "fr"}


def token_in(page: str) -> str:
    match = re.search(r"/booking/feed/([^/\"<]+)\.ics", page)
    assert match, "no feed address on the page"
    return match.group(1)


def mint(http, **options) -> str:
    response = http.post(reverse("booking:feeds"), {"action": "issue", **options})
    assert response.status_code == 200
    return token_in(response.content.decode())


def read(client, token: str):
    return client.get(reverse("booking:feed", args=[token]))


def test_a_vet_mints_their_own_feed_without_animal_names_by_default(
    as_vet, vet, dubois, booked, client
):
    token = mint(as_vet)
    feed = CalendarFeed.objects.get()
    assert feed.practitioner == dubois
    assert feed.created_by == vet
    assert feed.include_names is False
    assert feed.expires_at == feed.created_at + timedelta(days=180)
    body = read(client, token).content.decode()
    assert "DTSTART:20260601T070000Z" in body
    assert "SUMMARY:Consultation" in body
    assert "Filou" not in body


def test_a_vet_who_ticks_the_box_sees_the_animal_names(as_vet, dubois, booked, client):
    token = mint(as_vet, include_names="on")
    assert CalendarFeed.objects.get().include_names is True
    assert "Filou" in read(client, token).content.decode()


def test_the_page_shows_the_expiry_date_and_who_made_the_feed(as_vet, vet, dubois):
    mint(as_vet)
    page = as_vet.get(reverse("booking:feeds")).content.decode()
    assert "25 November 2026" in page  # 180 days after 29 May 2026
    assert vet.get_full_name() in page
    french = as_vet.get(reverse("booking:feeds"), headers=FR).content.decode()
    assert "25 novembre 2026" in french
    assert "Nouvelle adresse" in french


def test_a_feed_expires_and_renewing_keeps_its_options_under_a_new_token(
    as_vet, vet, dubois, booked, client, settings
):
    settings.BOOKING_FEED_DAYS = 10
    old = mint(as_vet, include_names="on")
    feed = CalendarFeed.objects.get()
    with time_machine.travel(NOW + timedelta(days=11), tick=False):
        assert read(client, old).status_code == 404
        again = factories.verified_http_client(vet)  # eleven days on: a new sign-in
        page = again.get(reverse("booking:feeds")).content.decode()
        assert "expired on" in page
        renewed = again.post(reverse("booking:feeds"), {"action": "renew", "feed": feed.pk})
        new = token_in(renewed.content.decode())
        assert "Filou" in read(client, new).content.decode()
    feed.refresh_from_db()
    assert feed.revoked_at is not None
    fresh = CalendarFeed.objects.get(revoked_at=None)
    assert fresh.include_names is True
    assert fresh.expires_at == NOW + timedelta(days=21)
    assert read(client, old).status_code == 404


def test_a_feed_stops_when_the_account_is_deactivated(as_vet, vet, dubois, booked, client):
    token = mint(as_vet)
    vet.is_active = False
    vet.save(update_fields=["is_active"])
    assert read(client, token).status_code == 404
    vet.is_active = True
    vet.save(update_fields=["is_active"])
    assert read(client, token).status_code == 200


def test_a_feed_stops_when_the_practitioner_is_deactivated(as_vet, dubois, booked, client):
    token = mint(as_vet)
    Practitioner.objects.filter(pk=dubois.pk).update(is_active=False)
    assert read(client, token).status_code == 404


def test_reception_can_neither_mint_nor_revoke_a_vets_feed(as_vet, as_reception, dubois, client):
    token = mint(as_vet)
    feed = CalendarFeed.objects.get()
    assert as_reception.post(
        reverse("booking:feeds"), {"action": "issue", "practitioner": dubois.pk}
    ).status_code in (403, 404)
    for action in ("revoke", "renew"):
        response = as_reception.post(reverse("booking:feeds"), {"action": action, "feed": feed.pk})
        assert response.status_code == 404
    page = as_reception.get(reverse("booking:feeds")).content.decode()
    assert "Feeds are personal" in page
    assert 'name="feed"' not in page
    assert CalendarFeed.objects.count() == 1
    assert read(client, token).status_code == 200


def test_a_vet_cannot_touch_a_colleagues_feed(as_vet, site, client):
    colleague = factories.make_staff("vet")
    other = Practitioner.objects.create(site=site, name="Dr Fontaine", user=colleague)
    feed, token = CalendarFeed.issue(other, by=colleague)
    for action in ("revoke", "renew"):
        response = as_vet.post(reverse("booking:feeds"), {"action": action, "feed": feed.pk})
        assert response.status_code == 404
    assert "Dr Fontaine" not in as_vet.get(reverse("booking:feeds")).content.decode()
    assert read(client, token).status_code == 200


def test_the_manager_revokes_any_feed_but_mints_none_for_others(as_manager, as_vet, dubois, client):
    token = mint(as_vet)
    feed = CalendarFeed.objects.get()
    page = as_manager.get(reverse("booking:feeds")).content.decode()
    assert "Dr Dubois" in page
    # The manager has no agenda of their own: no address to make, for anyone.
    assert (
        as_manager.post(
            reverse("booking:feeds"), {"action": "issue", "practitioner": dubois.pk}
        ).status_code
        == 403
    )
    assert (
        as_manager.post(reverse("booking:feeds"), {"action": "renew", "feed": feed.pk}).status_code
        == 404
    )
    assert CalendarFeed.objects.count() == 1
    assert (
        as_manager.post(reverse("booking:feeds"), {"action": "revoke", "feed": feed.pk}).status_code
        == 200
    )
    assert read(client, token).status_code == 404


def test_bad_input_changes_nothing(as_vet, dubois):
    mint(as_vet)
    for data in (
        {"action": "revoke", "feed": "abc"},
        {"action": "renew", "feed": "999999"},
        {"action": "explode"},
    ):
        assert as_vet.post(reverse("booking:feeds"), data).status_code == 404
    assert CalendarFeed.objects.filter(revoked_at=None).count() == 1


def test_clients_and_strangers_are_kept_out(as_client, client):
    assert as_client.get(reverse("booking:feeds")).status_code == 403
    assert client.get(reverse("booking:feeds")).status_code == 302
    assert read(client, "not-a-token").status_code == 404
