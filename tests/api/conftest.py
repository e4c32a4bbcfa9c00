"""API fixtures: the booking world (two vets every day, a consultation, Camille and Filou), a
key per scope set, and an HTTP client that sends a key. "Now" is the Friday 10:00 Paris before
a Monday in June (tests/booking/conftest.py's NOW), frozen."""

from collections.abc import Iterator

import pytest
import time_machine
from django.test import Client as HttpClient
from django.utils import translation

from api.models import ApiKey, Channel, Scope
from notifications.models import Preference
from tests import factories
from tests.booking.conftest import DAY, NOW
from tests.booking.factories import at, make_practitioner, make_service

ALL_SCOPES = [s.value for s in Scope]

__all__ = ["DAY", "NOW", "at"]


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def world(clinic, site, client_user, vet, manager):
    clinic.phone = "+33478000000"
    clinic.emergency_phone = "+33478999999"
    clinic.save()
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    fontaine = make_practitioner(site, name="Dr Fontaine")
    consultation = make_service(site, [dubois, fontaine], slug="consultation", duration=30)
    client = client_user.client
    client.phone = "+33612345678"
    client.save()
    # Texts go only to a checked number (issue 12): the team checked this one.
    Preference.objects.update_or_create(
        client=client, defaults={"phone_verified": True, "verified_phone": client.phone}
    )
    filou = factories.make_patient(client_user, name="Filou")
    return type(
        "World",
        (),
        {
            "clinic": clinic,
            "site": site,
            "dubois": dubois,
            "fontaine": fontaine,
            "consultation": consultation,
            "client": client,
            "user": client_user,
            "filou": filou,
            "manager": manager,
        },
    )


def make_key(manager, *, scopes=None, channel=Channel.PHONE, **fields) -> tuple[ApiKey, str]:
    return ApiKey.issue(
        name=fields.pop("name", "Phone assistant"),
        scopes=ALL_SCOPES if scopes is None else scopes,
        channel=channel,
        created_by=manager,
        **fields,
    )


class Api:
    """The test client, speaking JSON with a bearer token."""

    def __init__(self, token: str | None, language: str = "en") -> None:
        self.http = HttpClient()
        self.headers = {"Accept-Language": language}
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, data=None, **headers):
        return self.http.get(path, data, headers={**self.headers, **headers})

    def post(self, path: str, body=None, **headers):
        return self.http.post(
            path, body or {}, content_type="application/json", headers={**self.headers, **headers}
        )


@pytest.fixture
def key(world):
    return make_key(world.manager)


@pytest.fixture
def api(key) -> Api:
    return Api(key[1])
