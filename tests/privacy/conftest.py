"""Privacy fixtures: encrypted files in a per-test directory, Camille's dog with a report."""

import pytest
from django_tasks_db.models import DBTaskResult

from tests import factories


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def filou(client_user):
    return factories.make_patient(client_user, name="Filou")


@pytest.fixture
def queued():
    """The export tasks waiting in the database queue."""

    def count() -> int:
        return DBTaskResult.objects.filter(task_path="privacy.tasks.build_export").count()

    return count
