"""Waitlist fixtures: two vets working every day, a consultation, Camille's Filou, and a few
other clients waiting. "Now" is Friday 29 May 2026, 10:00 in Paris; slots are on Monday 1 June.
"""

from datetime import date, datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests import factories

# The booking world the waitlist releases slots in: the same fixtures as booking's own tests.
from tests.booking.conftest import (  # noqa: F401
    consultation,
    dubois,
    filou,
    fontaine,
    rules,
    strangers_cat,
)

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
