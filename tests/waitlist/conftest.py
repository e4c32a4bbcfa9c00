"""Waitlist fixtures: two vets working every day, a consultation, Camille's Filou, and a few
other clients waiting. "Now" is Friday 29 May 2026, 10:00 in Paris; slots are on Monday 1 June.
"""

from datetime import date, datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine

from booking.models import BookingRules
from tests import factories
from tests.booking.factories import make_practitioner, make_service

PARIS = ZoneInfo("Europe/Paris")
DAY = date(2026, 6, 1)
NOW = datetime(2026, 5, 29, 10, 0, tzinfo=PARIS)


def at(hh: int, mm: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=PARIS)


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def rules(clinic):
    return BookingRules.current()


@pytest.fixture
def filou(client_user):
    return factories.make_patient(client_user, name="Filou")


@pytest.fixture
def strangers_cat(other_client_user):
    return factories.make_patient(other_client_user, name="Mistigri", species="cat")


@pytest.fixture
def dubois(site, vet):
    return make_practitioner(site, name="Dr Dubois", user=vet)


@pytest.fixture
def fontaine(site):
    return make_practitioner(site, name="Dr Fontaine")


@pytest.fixture
def consultation(site, dubois, fontaine):
    return make_service(site, [dubois, fontaine], slug="consultation", duration=30)


@pytest.fixture
def waiters(clinic):
    """Five more clients, each with a dog: (client, patient) in sign-up order."""
    people = []
    for index, name in enumerate(["Anna", "Ben", "Cleo", "Dan", "Eve"]):
        user = factories.make_client_user(first_name=name, last_name=f"Waiting{index}")
        people.append((user.client, factories.make_patient(user, name=f"Dog of {name}")))
    return people


@pytest.fixture
def notify():
    """Every notifications entry point booking and the waitlist call, patched."""
    with (
        mock.patch("notifications.services.appointment_booked", create=True) as booked,
        mock.patch("notifications.services.appointment_moved", create=True) as moved,
        mock.patch("notifications.services.appointment_cancelled", create=True) as cancelled,
        mock.patch("notifications.services.waitlist_offer", create=True) as offer,
        mock.patch("waitlist.services._enqueue_wave") as wave,
    ):
        yield mock.Mock(booked=booked, moved=moved, cancelled=cancelled, offer=offer, wave=wave)
