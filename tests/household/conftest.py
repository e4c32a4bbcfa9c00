from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests import factories

# A Tuesday morning in Paris: every household test runs on this clock.
TUESDAY = datetime(2026, 10, 6, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(TUESDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Reports are stored encrypted in the test's own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def filou(client_user):
    """Camille's dog."""
    return factories.make_patient(client_user, name="Filou")


@pytest.fixture
def moka(client_user):
    """Camille's cat."""
    return factories.make_patient(client_user, name="Moka", species="cat", breed="Chartreux")


@pytest.fixture
def invitee(clinic):
    """Sam, whom Camille asks to look after her animals (a stranger to them until then)."""
    return factories.make_client_user(first_name="Sam", last_name="Gardien")


@pytest.fixture
def as_invitee(invitee):
    return factories.http_client(invitee)
