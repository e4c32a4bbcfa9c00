"""One-tap links from reminders: no login, GET changes nothing, single use, clear failures."""

import pytest
import time_machine
from django.urls import reverse

from booking.notices import link_token
from portal.lib.links import make_token
from tests.booking.conftest import DAY
from tests.booking.factories import at

# The clock stands at NOW, the Friday before DAY at 10:00 in Paris (tests/booking/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen")


def url(token: str) -> str:
    return reverse("booking:one_tap", args=[token])


def test_confirm_works_without_login_once(client, booked):
    link = url(link_token(booked, "confirm"))
    page = client.get(link)
    assert page.status_code == 200
    assert b"Yes, I will be there" in page.content
    booked.refresh_from_db()
    assert booked.confirmed_at is None  # GET changed nothing
    done = client.post(link)
    assert b"your appointment is confirmed" in done.content
    booked.refresh_from_db()
    first = booked.confirmed_at
    assert first is not None
    again = client.post(link)
    assert b"already confirmed" in again.content
    booked.refresh_from_db()
    assert booked.confirmed_at == first


def test_cancel_records_the_reason_and_is_single_use(client, booked, notify):
    link = url(link_token(booked, "cancel"))
    client.post(link)
    booked.refresh_from_db()
    assert booked.status == "cancelled"
    assert booked.cancel_reason == "client via reminder"
    assert booked.version == 2
    assert not booked.cancelled_by_clinic
    again = client.post(link)
    assert b"already cancelled" in again.content
    booked.refresh_from_db()
    assert booked.version == 2


def test_a_link_for_a_moved_appointment_changes_nothing(client, booked):
    link = url(link_token(booked, "cancel"))
    booked.version = 2
    booked.save(update_fields=["version"])
    response = client.post(link)
    assert b"has been moved since" in response.content
    booked.refresh_from_db()
    assert booked.status == "booked"


def test_move_opens_the_move_flow_and_says_sign_in_may_be_needed(client, booked):
    response = client.get(url(link_token(booked, "move")))
    assert reverse("booking:move", args=[booked.pk]).encode() in response.content
    assert b"sign in" in response.content


def test_expired_and_forged_links_explain_with_the_clinic_phone(client, booked):
    token = link_token(booked, "confirm")
    with time_machine.travel(at(DAY, 9, 1), tick=False):
        expired = client.get(url(token))
    assert expired.status_code == 410
    assert b"expired" in expired.content
    assert b"04 78 00 00 00" in expired.content
    forged = client.post(url(token[:-3] + "abc"))
    assert forged.status_code == 404
    assert b"not valid" in forged.content
    foreign = make_token(
        "waitlist", {"a": booked.pk, "v": 1, "act": "cancel"}, expires_at=at(DAY, 9)
    )
    assert client.post(url(foreign)).status_code == 404
    booked.refresh_from_db()
    assert booked.status == "booked"
    assert booked.confirmed_at is None


def test_a_cancel_link_after_the_cut_off_says_to_call(client, booked):
    link = url(link_token(booked, "cancel"))
    with time_machine.travel(at(DAY, 7), tick=False):
        response = client.post(link)
    assert b"too late" in response.content
    booked.refresh_from_db()
    assert booked.status == "booked"
