import sys
import types
from collections.abc import Iterator
from unittest import mock

import pytest

from tests import factories


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Each test stores its encrypted files in its own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def notify() -> Iterator[types.SimpleNamespace]:
    """notifications' service functions, replaced by mocks (they are built by another issue).

    If `notifications.services` does not exist yet, an empty module stands in for it, so the
    calls records makes after commit can still be asserted.
    """
    try:
        import notifications.services
    except ImportError:
        import notifications

        stand_in = types.ModuleType("notifications.services")
        sys.modules["notifications.services"] = stand_in
        notifications.services = stand_in
    names = ("document_available", "care_reminder", "cancel_care_reminder")
    patches = [mock.patch(f"notifications.services.{name}", create=True) for name in names]
    mocks = [patch.start() for patch in patches]
    yield types.SimpleNamespace(**dict(zip(names, mocks, strict=True)))
    for patch in patches:
        patch.stop()


@pytest.fixture
def patient(client_user):
    return factories.make_patient(client_user)
