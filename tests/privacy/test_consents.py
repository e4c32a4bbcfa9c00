"""The consent journal, as the client reads it: what, when, how and by whom."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from notifications.models import PreferenceChange
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_client_reads_their_consent_changes_in_their_language(
    client_user, other_client_user, reception
):
    client = client_user.client
    PreferenceChange.objects.create(
        client=client,
        by=client_user,
        how="client_page",
        what="marketing_opt_in",
        old_value="no",
        new_value="yes",
        at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    )
    PreferenceChange.objects.create(
        client=client,
        by=reception,
        how="staff",
        what="channels:appointments",
        old_value="email,sms",
        new_value="email",
        at=datetime(2026, 3, 5, 14, 0, tzinfo=UTC),
    )
    PreferenceChange.objects.create(
        client=other_client_user.client,
        by=other_client_user,
        how="client_page",
        what="service_opt_out",
        old_value="no",
        new_value="yes",
    )

    english = factories.http_client(client_user).get(reverse("privacy:consents"))
    french = factories.http_client(client_user).get(
        reverse("privacy:consents"), headers={"accept-language": "fr"}
    )

    page = english.content.decode()
    assert "News and campaigns" in page
    assert "by you" in page
    assert "by the clinic" in page
    assert "2 March 2026, 10:30" in page  # the clinic's time (Paris)
    assert "No reminders at all" not in page  # the stranger's change
    fr = french.content.decode()
    assert "2 mars 2026" in fr
    assert "par vous" in fr


def test_an_empty_journal_says_the_defaults_apply(as_client):
    assert "the defaults apply" in as_client.get(reverse("privacy:consents")).content.decode()


def test_staff_get_403(as_reception):
    assert as_reception.get(reverse("privacy:consents")).status_code == 403


def test_the_page_makes_a_bounded_number_of_queries(
    client_user, reception, django_assert_max_num_queries
):
    for index in range(15):
        PreferenceChange.objects.create(
            client=client_user.client,
            by=reception if index % 2 else client_user,
            how="staff" if index % 2 else "client_page",
            what="marketing_opt_in",
            old_value="no",
            new_value="yes",
        )
    http = factories.http_client(client_user)
    http.get(reverse("privacy:consents"))

    with django_assert_max_num_queries(10):
        response = http.get(reverse("privacy:consents"))

    assert response.content.decode().count("News and campaigns") == 15
