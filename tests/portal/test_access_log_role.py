"""Tamper resistance beyond the application: the runtime role (grant_app_role) can append to the
access log and run the retention purge, and nothing else — no UPDATE, DELETE, TRUNCATE, ALTER or
DROP TRIGGER — and the purge it may run never removes a line younger than 30 days."""

import os
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from portal.models import AccessLog

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clearable_access_log"),
]


@pytest.fixture
def app_role():
    role = f"accueil_audit_test_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP ROLE IF EXISTS "{role}"')
        cursor.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'x'")
    call_command("grant_app_role", role, stdout=open(os.devnull, "w"))  # noqa: SIM115
    yield role
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{role}"')
        cursor.execute(f'DROP ROLE IF EXISTS "{role}"')


def connect_as(role: str) -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=role, password="x", dbname=db["NAME"],
        autocommit=True,
    )  # fmt: skip


def write(days_ago: float, object_id: str) -> AccessLog:
    entry = AccessLog(
        at=timezone.now() - timedelta(days=days_ago),
        action="view",
        object_type="patient",
        object_id=object_id,
    )
    entry.save()
    return entry


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE portal_accesslog SET detail = 'rewritten'",
        "DELETE FROM portal_accesslog",
        "TRUNCATE portal_accesslog",
        "ALTER TABLE portal_accesslog DISABLE TRIGGER portal_accesslog_no_change",
        "ALTER TABLE portal_accesslog ADD COLUMN note text",
        "DROP TRIGGER portal_accesslog_no_change ON portal_accesslog",
        "DROP TABLE portal_accesslog",
        "DROP FUNCTION accueil_purge_access_log(timestamptz)",
        "CREATE OR REPLACE FUNCTION portal_accesslog_append_only() RETURNS trigger "
        "AS $$ BEGIN RETURN OLD; END; $$ LANGUAGE plpgsql",
    ],
)
def test_the_app_role_cannot_rewrite_empty_or_alter_the_log(app_role, statement):
    write(400, "old")
    write(1, "recent")
    with connect_as(app_role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)
    assert sorted(AccessLog.objects.values_list("object_id", "detail")) == [
        ("old", ""),
        ("recent", ""),
    ]


def test_the_app_role_setting_the_purge_flag_itself_still_cannot_delete(app_role):
    write(400, "old")
    with connect_as(app_role) as conn:
        conn.execute("SET accueil.purging = 'on'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM portal_accesslog")
    assert AccessLog.objects.count() == 1


def test_the_app_role_purges_through_the_function_past_the_floor_only(app_role):
    write(400, "old"), write(45, "past the floor"), write(10, "young")
    with connect_as(app_role) as conn:
        # Asked to remove everything up to tomorrow, it keeps the last 30 days.
        removed = conn.execute(
            "SELECT accueil_purge_access_log(now() + interval '1 day')"
        ).fetchone()[0]
        assert removed == 2
        conn.execute(
            "INSERT INTO portal_accesslog (at, action, object_type, object_id, detail, "
            "user_agent) VALUES (now(), 'view', 'patient', 'appended', '', '')"
        )
    assert sorted(AccessLog.objects.values_list("object_id", flat=True)) == ["appended", "young"]


def test_the_function_is_not_open_to_every_role(app_role):
    with connection.cursor() as cursor:
        # EXECUTE was revoked from PUBLIC (0006): a bare new role may not call it.
        cursor.execute('DROP ROLE IF EXISTS "accueil_nobody_test"')
        cursor.execute('CREATE ROLE "accueil_nobody_test"')
        try:
            cursor.execute(
                "SELECT has_function_privilege('accueil_nobody_test', "
                "'accueil_purge_access_log(timestamptz)', 'EXECUTE')"
            )
            assert cursor.fetchone()[0] is False
        finally:
            cursor.execute('DROP ROLE "accueil_nobody_test"')
