"""The runtime role can append to the access log but not rewrite, empty or alter it."""

import os

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from portal.models import AccessLog

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def app_role():
    role = f"accueil_app_test_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP ROLE IF EXISTS "{role}"')
        cursor.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'x'")
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


def test_the_app_role_appends_to_the_access_log_and_nothing_more(app_role):
    call_command("grant_app_role", app_role, stdout=open(os.devnull, "w"))  # noqa: SIM115
    AccessLog.objects.create(action="view", object_type="patient", object_id="1")
    with connect_as(app_role) as conn:
        conn.execute(
            "INSERT INTO portal_accesslog (at, action, object_type, object_id, detail, "
            "user_agent) VALUES (now(), 'view', 'patient', '2', '', '')"
        )
        assert conn.execute("SELECT count(*) FROM portal_accesslog").fetchone()[0] == 2
        # Ordinary tables: read and write.
        conn.execute("UPDATE portal_clinic SET name = name")
        for statement in (
            "UPDATE portal_accesslog SET detail = 'x'",
            "DELETE FROM portal_accesslog",
            "TRUNCATE portal_accesslog",
            "ALTER TABLE portal_accesslog DISABLE TRIGGER ALL",
            "DROP TABLE portal_accesslog",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    assert AccessLog.objects.count() == 2


def test_the_command_refuses_an_unknown_role():
    with pytest.raises(CommandError, match="No role"):
        call_command("grant_app_role", "nobody_here_at_all")
