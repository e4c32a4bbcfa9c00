"""Booking fixtures: Camille's dog Filou, two vets working every day, a consultation."""

import importlib
import sys
import types
from datetime import date, timedelta
from unittest import mock

import pytest
import time_machine
from django.utils import translation

from booking.models import BookingRules
from tests import factories
from tests.booking.factories import at, make_appointment, make_practitioner, make_service

# A Monday in June, far from daylight-saving changes; "now" is the Friday before at 10:00 Paris.
DAY = date(2026, 6, 1)
NOW = at(DAY - timedelta(days=3), 10)


@pytest.fixture(autouse=True)
def _english():
    """Service messages are asserted in English; French (the default) is tested apart."""
    with translation.override("en"):
        yield


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
def notify():
    """The notifications entry points, patched: booking only promises to call them.

    notifications.services is written concurrently by another team; until it exists an empty
    module stands in so that the patch has something to attach to.
    """
    try:
        importlib.import_module("notifications.services")
        stand_in = {}
    except ModuleNotFoundError:
        stand_in = {"notifications.services": types.ModuleType("notifications.services")}
    with (
        mock.patch.dict(sys.modules, stand_in),
        mock.patch("notifications.services.appointment_booked", create=True) as booked,
        mock.patch("notifications.services.appointment_moved", create=True) as moved,
        mock.patch("notifications.services.appointment_cancelled", create=True) as cancelled,
    ):
        yield mock.Mock(booked=booked, moved=moved, cancelled=cancelled)


@pytest.fixture
def frozen():
    """The clock stands still at NOW (a test module opts in with usefixtures("frozen"))."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def booked(client_user, filou, consultation, dubois):
    return make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 9),
    )
