"""The access log's hash chain: every line hangs on the one before; verify_access_log finds a
line removed or altered behind the application's back."""

import importlib
import io
import threading
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test import RequestFactory

from portal.access import log_access
from portal.lib import access_log
from portal.models import AccessLog

chain_migration = importlib.import_module("portal.migrations.0006_access_log_chain")


def write(user=None, object_id=1, action=AccessLog.Action.VIEW) -> AccessLog:
    request = RequestFactory().get("/", HTTP_USER_AGENT="pytest", REMOTE_ADDR="2001:DB8::7")
    request.user = user if user is not None else _anonymous()
    return log_access(request, action=action, object_type="patient", object_id=object_id)


def _anonymous():
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


@contextmanager
def triggers_lifted():
    """What an attacker with the database file (or the table's owner) could do."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER portal_accesslog_no_update")
            cursor.execute("DROP TRIGGER portal_accesslog_no_delete")
        else:
            # The superuser's switch for ordinary triggers (the test's own inserts leave deferred
            # foreign-key events pending, which ALTER TABLE ... DISABLE TRIGGER would refuse).
            cursor.execute("SET session_replication_role = replica")
        yield cursor
        if connection.vendor == "sqlite":
            for statement in chain_migration.SQLITE_TRIGGERS:
                cursor.execute(statement)
        else:
            cursor.execute("SET session_replication_role = origin")


def verify() -> str:
    out = io.StringIO()
    call_command("verify_access_log", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_each_line_carries_the_hash_of_the_line_before(client_user):
    first, second, third = write(client_user, 1), write(client_user, 2), write(None, 3)
    assert first.prev_hash == ""
    assert second.prev_hash == first.row_hash
    assert third.prev_hash == second.row_hash
    assert len({first.row_hash, second.row_hash, third.row_hash}) == 3
    stored = AccessLog.objects.get(pk=second.pk)
    assert stored.row_hash == second.row_hash


@pytest.mark.django_db
def test_an_intact_log_verifies(client_user):
    for pk in range(5):
        write(client_user, pk)
    assert "intact: 5 lines" in verify()


@pytest.mark.django_db
def test_an_empty_log_verifies():
    assert "empty" in verify()


@pytest.mark.django_db
def test_it_names_a_line_altered_behind_the_applications_back(client_user, other_client_user):
    lines = [write(client_user, pk) for pk in range(4)]
    with triggers_lifted() as cursor:
        # Pin the read on someone else.
        cursor.execute(
            "UPDATE portal_accesslog SET user_id = %s WHERE id = %s",
            [other_client_user.pk, lines[2].pk],
        )
    with pytest.raises(CommandError, match=f"line {lines[2].pk} was altered") as refused:
        verify()
    assert refused.value.returncode == 1
    assert "2 lines intact" in str(refused.value)


@pytest.mark.django_db
def test_it_names_the_gap_a_deleted_line_leaves(client_user):
    lines = [write(client_user, pk) for pk in range(4)]
    with triggers_lifted() as cursor:
        cursor.execute("DELETE FROM portal_accesslog WHERE id = %s", [lines[1].pk])
    with pytest.raises(CommandError, match=f"removed just before line {lines[2].pk}") as refused:
        verify()
    assert refused.value.returncode == 1


@pytest.mark.django_db
def test_a_rehashed_forgery_still_breaks_the_next_link(client_user):
    """Altering a line and recomputing its own hash moves the break to the line after it."""
    lines = [write(client_user, pk) for pk in range(3)]
    forged = dict(
        AccessLog.objects.values("pk", "prev_hash", *access_log.FIELDS).get(pk=lines[1].pk)
    )
    forged["object_id"] = "999"
    with triggers_lifted() as cursor:
        cursor.execute(
            "UPDATE portal_accesslog SET object_id = '999', row_hash = %s WHERE id = %s",
            [access_log.row_hash(forged, forged["prev_hash"]), lines[1].pk],
        )
    with pytest.raises(CommandError, match=f"removed just before line {lines[2].pk}"):
        verify()


@pytest.mark.django_db
def test_lines_cannot_be_written_in_bulk():
    with pytest.raises(PermissionError):
        AccessLog.objects.bulk_create([AccessLog(action="view", object_type="x", object_id="1")])


@pytest.mark.django_db
def test_the_migration_chains_lines_written_before_it(client_user):
    """The backfill in 0006 hashes older lines exactly as save() does."""
    lines = [write(client_user, pk) for pk in range(3)]
    with triggers_lifted() as cursor:
        cursor.execute("UPDATE portal_accesslog SET prev_hash = '', row_hash = ''")

    class Editor:
        def __init__(self):
            self.connection = connection

        def execute(self, statement):
            with connection.cursor() as cursor:
                cursor.execute(statement)

    from django.apps import apps

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fire the test's pending foreign-key checks
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    chain_migration.chain_existing_lines(apps, Editor())
    chain_migration.forwards(apps, Editor())
    stored = list(AccessLog.objects.order_by("pk").values_list("row_hash", flat=True))
    assert stored == [line.row_hash for line in lines]
    assert "intact: 3 lines" in verify()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_the_chain_linear(client_user):
    """Eight threads writing at once: every line still hangs on exactly one parent."""
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            for i in range(10):
                write(client_user, n * 100 + i)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    parents = list(AccessLog.objects.values_list("prev_hash", flat=True))
    assert len(parents) == 80
    assert len(set(parents)) == 80  # no two lines share a parent: no fork
    assert "intact: 80 lines" in verify()
