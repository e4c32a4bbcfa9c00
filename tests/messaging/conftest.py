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


@pytest.fixture
def clearable_access_log(transactional_db):
    """Lets the end-of-test flush empty the append-only access log (transactional tests only).

    Set up after `transactional_db`, so torn down before its flush: the triggers are dropped,
    the rows deleted and the triggers put back, exactly as the migration writes them. On
    PostgreSQL the flush TRUNCATEs, which the statement-level trigger refuses even on an empty
    table: that one is put back when the next such test starts instead.
    """
    from django.db import connection

    migration = importlib.import_module("portal.migrations.0002_access_log_append_only")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "DROP TRIGGER IF EXISTS portal_accesslog_no_truncate ON portal_accesslog"
            )
            cursor.execute(migration.POSTGRES[2])
    yield
    drop, create = {
        "sqlite": (migration.SQLITE_REVERSE, migration.SQLITE),
        "postgresql": (migration.POSTGRES_REVERSE, migration.POSTGRES[:2]),
    }.get(connection.vendor, ([], []))
    with connection.cursor() as cursor:
        for statement in drop:
            cursor.execute(statement)
        cursor.execute("DELETE FROM portal_accesslog")
        for statement in create:
            cursor.execute(statement)
