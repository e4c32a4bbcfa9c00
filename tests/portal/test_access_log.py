import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from portal.access import log_access
from portal.models import AccessLog


@pytest.fixture
def entry(client_user) -> AccessLog:
    request = RequestFactory().get("/", HTTP_USER_AGENT="pytest", REMOTE_ADDR="192.0.2.7")
    request.user = client_user
    return log_access(request, action=AccessLog.Action.VIEW, object_type="patient", object_id=42)


@pytest.mark.django_db
def test_it_records_who_what_when_and_from_where(entry, client_user):
    assert entry.user == client_user
    assert (entry.object_type, entry.object_id) == ("patient", "42")
    assert entry.ip == "192.0.2.7"
    assert entry.user_agent == "pytest"
    assert entry.at is not None


@pytest.mark.django_db
def test_the_model_refuses_to_change_or_delete_a_line(entry):
    entry.detail = "rewritten"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AccessLog.objects.filter(pk=entry.pk).update(detail="rewritten")
    with pytest.raises(PermissionError):
        AccessLog.objects.all().delete()


@pytest.mark.django_db
def test_the_database_refuses_raw_updates_and_deletes(entry):
    for statement in (
        "UPDATE portal_accesslog SET detail = 'rewritten'",
        "DELETE FROM portal_accesslog",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AccessLog.objects.get(pk=entry.pk).detail == ""
