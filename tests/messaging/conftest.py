import importlib
import sys
import types
from unittest import mock

import pytest

from tests.messaging.factories import make_conversation


@pytest.fixture(autouse=True)
def notices():
    """notifications' entry point, recorded (it lands in parallel; never really sent here).

    While notifications.services does not exist yet, a bare module stands in for it during
    the test only, so the patch has something to attach to.
    """
    try:
        importlib.import_module("notifications.services")
        stub = {}
    except ImportError:
        stub = {"notifications.services": types.ModuleType("notifications.services")}
    with (
        mock.patch.dict(sys.modules, stub),
        mock.patch("notifications.services.new_message_unread", create=True) as patched,
    ):
        yield patched


@pytest.fixture
def conversation(client_user):
    return make_conversation(client_user, subject="Filou tousse", body="Il tousse depuis hier.")


@pytest.fixture(autouse=True)
def hours_unknown():
    """Opening hours unknown unless a test sets them (booking may register its own)."""
    from portal.lib import hours

    saved = hours._provider
    hours.set_opening_provider(None)
    yield hours
    hours.set_opening_provider(saved)
