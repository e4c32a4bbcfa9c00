"""Managers browse, filter and export the access log; nobody else sees it and nobody edits it."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from portal.models import AccessLog

pytestmark = pytest.mark.django_db

FR = {"accept-language": "fr"}
PAGE = reverse("portal:access_log")
EXPORT = reverse("portal:access_log_export")


def line(user, at: datetime, action="view", object_type="patient", object_id="7", detail=""):
    entry = AccessLog(
        user=user,
        at=at,
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
        ip="192.0.2.9",
    )
    entry.save()
    return entry


@pytest.fixture
def log_lines(vet, reception, client_user, other_client_user):
    # 23:30 UTC on 28 March is 00:30 on the 29th in Paris (the clinic's zone).
    return [
        line(vet, datetime(2026, 3, 28, 23, 30, tzinfo=UTC), detail="history"),
        line(reception, datetime(2026, 3, 28, 12, 0, tzinfo=UTC), object_id="8"),
        line(other_client_user, datetime(2026, 3, 30, 9, 0, tzinfo=UTC), action="denied",
             object_type="appointment", object_id="41"),
        line(None, datetime(2026, 3, 30, 10, 0, tzinfo=UTC), action="denied",
             object_type="calendar_feed", object_id=""),
    ]  # fmt: skip


def shown(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_a_manager_sees_every_line_newest_first(as_manager, log_lines, vet, other_client_user):
    page = shown(as_manager.get(PAGE))
    assert "4 lines" in page
    assert page.index("Calendar feed") < page.index("Appointment 41") < page.index(vet.last_name)
    assert other_client_user.get_full_name() in page
    assert "was refused" in page
    assert "nobody signed in" in page
    # Times in the clinic's zone: 23:30 UTC shows as 00:30 the next day in Paris.
    assert "29/03/2026 00:30:00" in page


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"who": "Lambert"}, ["41"]),
        ({"who": "staff"}, ["7", "8"]),  # the staff fixtures' last names
        ({"what": "appointment"}, ["41"]),
        ({"what": "patient", "object_id": "8"}, ["8"]),
        ({"action": "denied"}, ["41", ""]),
        ({"start": "2026-03-29", "end": "2026-03-29"}, ["7"]),  # Paris's 29 March
        ({"end": "2026-03-28"}, ["8"]),
        ({"start": "2026-03-30"}, ["41", ""]),
    ],
)
def test_it_filters_by_who_what_when_and_outcome(as_manager, log_lines, params, expected):
    page = shown(as_manager.get(PAGE, params))
    assert f"{len(expected)} line" in page
    found = [entry.object_id for entry in log_lines if f"<td>{_what(entry)}" in page]
    assert sorted(found) == sorted(expected)


def _what(entry: AccessLog) -> str:
    from portal.audit import object_label

    return f"{object_label(entry.object_type)} {entry.object_id}</td>"


def test_a_reversed_date_range_is_refused_clearly(as_manager, log_lines):
    page = shown(as_manager.get(PAGE, {"start": "2026-04-01", "end": "2026-03-01"}))
    assert "The start date must come before the end date." in page
    assert "No line matches this filter." in page
    response = as_manager.get(EXPORT, {"start": "2026-04-01", "end": "2026-03-01"})
    assert response.status_code == 400
    assert not AccessLog.objects.filter(object_type="access_log").exists()


def test_a_nonsense_date_is_refused_clearly(as_manager, log_lines):
    page = shown(as_manager.get(PAGE, {"start": "yesterday"}))
    assert "Enter a valid date." in page


def test_the_page_is_paginated_with_a_bounded_number_of_queries(
    as_manager, vet, django_assert_max_num_queries
):
    for n in range(120):
        line(vet, datetime(2026, 3, 1, 8, n % 60, tzinfo=UTC), object_id=str(n))
    as_manager.get(PAGE)  # the clinic row and the duties are cached after the first page
    with django_assert_max_num_queries(10):
        page = shown(as_manager.get(PAGE))
    assert "Page 1 of 3" in page
    with django_assert_max_num_queries(10):
        page = shown(as_manager.get(PAGE, {"who": "staff", "page": 3}))
    assert "Page 3 of 3" in page


def test_it_exports_the_filtered_lines_as_csv_and_logs_the_export(
    as_manager, manager, log_lines, other_client_user
):
    response = as_manager.get(EXPORT, {"action": "denied"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="access-log-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "When", "Who", "E-mail", "Role", "Outcome", "What", "Number", "Detail", "IP address",
    ]  # fmt: skip
    assert rows[1:] == [
        ["2026-03-30 12:00:00", "nobody signed in", "", "", "was refused", "Calendar feed", "",
         "", "192.0.2.9"],
        ["2026-03-30 11:00:00", other_client_user.get_full_name(), other_client_user.email,
         "Client", "was refused", "Appointment", "41", "", "192.0.2.9"],
    ]  # fmt: skip
    export = AccessLog.objects.get(object_type="access_log")
    assert (export.user, export.action, export.detail) == (manager, "download", "action=denied")


def test_the_export_speaks_french_in_the_clinics_zone(log_lines):
    from tests import factories

    manager = factories.make_staff("manager")
    as_manager_fr = factories.verified_http_client(manager)
    response = as_manager_fr.get(EXPORT, {"what": "patient"}, headers=FR)
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == ["Quand", "Qui", "E-mail", "Rôle", "Résultat"]
    assert rows[1][0] == "2026-03-29 00:30:00"
    assert rows[1][4] == "a consulté"
    assert rows[1][5] == "Dossier patient"


def test_the_page_speaks_french(as_manager, log_lines):
    page = shown(as_manager.get(PAGE, headers=FR))
    assert "Journal des accès" in page
    assert "Exporter en CSV" in page
    assert "4 lignes" in page


@pytest.mark.parametrize("who", ["as_client", "as_reception", "as_vet"])
def test_only_a_manager_opens_the_log(request, who, log_lines):
    http = request.getfixturevalue(who)
    for url in (PAGE, EXPORT):
        response = http.get(url)
        assert response.status_code == 403
        assert "192.0.2.9" not in response.content.decode()
    assert not AccessLog.objects.filter(object_type="access_log").exists()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_manager_cannot_edit_or_delete_a_line(as_manager, log_lines):
    before = list(AccessLog.objects.order_by("pk").values_list("pk", "row_hash"))
    for url in (PAGE, EXPORT):
        for method in (as_manager.post, as_manager.put, as_manager.delete):
            response = method(url, {"delete": before[0][0]})
            assert response.status_code == 405
            assert response["Allow"] == "GET, HEAD"
            assert "The access log cannot be changed" in response.content.decode()
    refused = as_manager.post(PAGE, {"delete": before[0][0]}, headers=FR).content.decode()
    assert "Le journal des accès ne peut pas être modifié" in refused
    page = shown(as_manager.get(PAGE))
    # The only forms that post are the page's own: sign out, change language.
    assert page.count('method="post"') == page.count('action="/accounts/logout/"') + page.count(
        'action="/i18n/setlang/"'
    )
    after = AccessLog.objects.order_by("pk").values_list("pk", "row_hash")
    assert list(after)[: len(before)] == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clearable_access_log")
@pytest.mark.asyncio
async def test_the_export_streams_under_asgi_too(manager, vet):
    """Under daphne the rows come in batches through an async iterator, not read whole first."""
    from asgiref.sync import sync_to_async
    from django.db import connections
    from django.test import AsyncClient

    from tests import factories

    def prepare():
        for n in range(1200):
            line(vet, datetime(2026, 3, 1, 8, n % 60, tzinfo=UTC), object_id=str(n))
        return factories.verified_http_client(manager).cookies

    cookies = await sync_to_async(prepare)()
    http = AsyncClient(headers={"accept-language": "en"})
    http.cookies = cookies
    response = await http.get(EXPORT)
    assert response.status_code == 200
    assert response.is_async
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    # The header, the export's own line (written before the first row goes), the 1200 lines.
    assert len(body.splitlines()) == 1 + 1 + 1200
    # The thread that ran the sync code keeps its connection: close it, or PostgreSQL cannot
    # drop the test database at the end.
    await sync_to_async(connections.close_all)()


def test_the_next_page_keeps_the_filter(as_manager, vet):
    for number in range(60):
        line(vet, datetime(2026, 3, 28, 8, number % 60, tzinfo=UTC), object_id=str(number))
    first = shown(as_manager.get(PAGE, {"what": "patient", "outcome": "view"}))
    assert "Page 1 of 2" in first
    assert 'href="?what=patient&amp;outcome=view&amp;page=2"' in first
    second = shown(as_manager.get(PAGE, {"what": "patient", "outcome": "view", "page": "2"}))
    assert "Page 2 of 2" in second
    assert 'href="?what=patient&amp;outcome=view&amp;page=1"' in second
    assert second.count("<td>Patient file") == 10
