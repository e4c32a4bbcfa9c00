"""What a new client meets on day one, in French (the default): the join form's dates hold the
date, and the waitlist is in the client's menu (issue #18)."""

import re
from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from tests.waitlist.conftest import DAY, NOW
from tests.waitlist.factories import make_entry
from waitlist.models import Entry

pytestmark = pytest.mark.django_db

JOIN = reverse("waitlist:join")


def _french(user) -> HttpClient:
    http = HttpClient(headers={"accept-language": "fr"})
    http.force_login(user)
    return http


def _value_of(html: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert tag, f"no input {name}"
    assert 'type="date"' in tag.group(0)
    value = re.search(r'value="([^"]*)"', tag.group(0))
    assert value, f"input {name} has no value: {tag.group(0)}"
    return value.group(1)


def test_it_fills_the_join_forms_dates_in_french_and_takes_them_back(
    now, client_user, filou, consultation
):
    french = _french(client_user)
    page = french.get(JOIN, {"patient": filou.pk, "service": "consultation"})
    html = page.content.decode()
    assert "Prévenez-moi si un créneau se libère" in html  # the page is in French
    # The browser shows what the input holds only if it is ISO: "29/05/2026" shows empty.
    earliest = _value_of(html, "earliest")
    latest = _value_of(html, "latest")
    assert earliest == NOW.date().isoformat()
    assert latest == (NOW.date() + timedelta(days=14)).isoformat()

    # Submitting the form as the browser fills it puts the client on the list.
    answer = french.post(
        JOIN,
        {
            "patient": filou.pk,
            "service": "consultation",
            "practitioner": "",
            "earliest": earliest,
            "latest": latest,
            "times": ["1", "2", "4"],
            "weekdays": ["1", "2", "4", "8", "16", "32", "64"],
        },
    )
    assert answer.status_code == 302, answer.content.decode()
    entry = Entry.objects.get()
    assert (entry.earliest, entry.latest) == (NOW.date(), NOW.date() + timedelta(days=14))


def test_the_clients_menu_leads_to_their_waitlist(now, client_user, filou, consultation):
    make_entry(client_user.client, filou, consultation, earliest=DAY)
    french = _french(client_user)
    home = french.get("/").content.decode()
    assert '<a href="/waitlist/">Liste d&#x27;attente</a>' in home
    listing = french.get("/waitlist/").content.decode()
    assert "<h1>Ma liste d'attente</h1>" in listing
    assert "<strong>Filou</strong>" in listing
    assert "1er juin" in listing  # the entry's window, as French writes the first of a month


def test_staff_have_their_waitlist_link_not_the_clients(now, as_reception):
    menu = as_reception.get("/").content.decode()
    assert 'href="/waitlist/staff/"' in menu
    assert 'href="/waitlist/"' not in menu


def test_the_days_a_client_can_come_read_lower_case_in_a_french_line(
    now, client_user, filou, consultation
):
    make_entry(client_user.client, filou, consultation, earliest=DAY, weekdays=0b11)
    listing = _french(client_user).get("/waitlist/").content.decode()
    assert "lundi, mardi" in listing
    assert "Lundi" not in listing
