"""Fixtures: text messages in memory, e-mails in memory, and a worker that runs due tasks."""

from collections.abc import Callable

import pytest
from django.core import mail
from django.utils import translation
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from notifications import backends
from notifications.contracts import _checkers
from tests.notifications.sms_stub import ovh_settings, provider_stub, twilio_settings  # noqa: F401


@pytest.fixture(autouse=True)
def _sms_in_memory(settings):
    settings.NOTIFICATIONS_SMS_BACKEND = "locmem"
    settings.NOTIFICATIONS_RETRY_SECONDS = 60
    backends.outbox.clear()
    yield
    backends.outbox.clear()


@pytest.fixture(autouse=True)
def _english_reasons():
    """Reasons are written in the worker's language (the site's, French); the tests read the
    English source strings. French output is tested apart."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _no_foreign_checkers():
    """Other apps register subject checkers at start-up; each test states its own."""
    saved = dict(_checkers)
    _checkers.clear()
    yield
    _checkers.clear()
    _checkers.update(saved)


@pytest.fixture
def sms_outbox() -> list:
    return backends.outbox


@pytest.fixture
def mail_outbox() -> list:
    return mail.outbox


def run_ready_tasks() -> int:
    """What `manage.py db_worker --batch` does (run every due task, then stop), minus its
    connection recycling, which would break the test's transaction."""
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    )
    ran = 0
    while result := DBTaskResult.objects.ready().filter(backend_name="default").first():
        result.claim("test")
        worker.run_task(result)
        ran += 1
    return ran


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks) -> Callable[[], None]:
    """Commit hooks (the enqueues) then the worker, until nothing more is due."""

    def run() -> None:
        for _ in range(20):
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                ran = run_ready_tasks()
            if not callbacks and not ran:
                return

    return run


@pytest.fixture
def plan(django_capture_on_commit_callbacks) -> Callable:
    """Call a public API function and run its commit hooks (enqueue), as a commit would."""

    def call(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return call
