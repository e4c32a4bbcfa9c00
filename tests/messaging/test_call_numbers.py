"""Which number the messaging pages and automatic replies give, at three frozen instants.

The clinic's hours come from booking's real provider (Monday to Saturday, 9-12 and 14-19 in
Paris): a Wednesday at 10:00 is open, the same evening and a Sunday at 23:30 are closed.
Numbers are links a phone dials (`tel:`), in French and in English.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from messaging.models import Kind
from messaging.templatetags.messaging_tags import with_tel_links
from tests import factories
from tests.booking.factories import make_practitioner
from tests.messaging.factories import make_conversation

PARIS = ZoneInfo("Europe/Paris")
IN_HOURS = datetime(2026, 12, 2, 10, 0, tzinfo=PARIS)  # a Wednesday morning
EVENING = datetime(2026, 12, 2, 20, 30, tzinfo=PARIS)  # the same day, after closing
SUNDAY_NIGHT = datetime(2026, 11, 29, 23, 30, tzinfo=PARIS)

MAIN = '<a href="tel:+33478000000">04 78 00 00 00</a>'
EMERGENCY = '<a href="tel:+33478000099">04 78 00 00 99</a>'


@pytest.fixture
def clinic_hours(site, hours_unknown):
    from booking.services import next_opening

    make_practitioner(site, days=range(6))  # Monday to Saturday
    hours_unknown.set_opening_provider(next_opening)


def _signed_in(language: str, user):
    """Signed in at the frozen instant (a session opened on the wall clock may have expired
    there), reading the portal in `language`."""
    user.client.preferred_language = language
    user.client.save(update_fields=["preferred_language"])
    client = factories.http_client(user)
    client.cookies["django_language"] = language
    return client


def _call_note(page: str) -> str:
    match = re.search(r'<p class="muted call-note" id="call-note">(.*?)</p>', page, re.S)
    assert match, "no call note on the page"
    return match.group(1)


def _emergency_reply(page: str) -> str:
    match = re.search(r'<li id="m-2"[^>]*class="[^"]*emergency[^"]*">(.*?)</li>', page, re.S)
    assert match, "no emergency reply on the page"
    return match.group(1)


@pytest.mark.parametrize(
    ("language", "closed_words", "open_words"),
    [
        ("fr", "ligne d'urgence", "heures d'ouverture"),
        ("en", "emergency line", "opening hours"),
    ],
)
@pytest.mark.parametrize("instant", [EVENING, SUNDAY_NIGHT], ids=["evening", "sunday-night"])
def test_out_of_hours_the_page_and_the_reply_point_to_the_emergency_line(
    client_user, clinic_hours, instant, language, closed_words, open_words
):
    with time_machine.travel(instant, tick=False):
        as_client = _signed_in(language, client_user)
        conversation = make_conversation(client_user, body="Il respire très mal")
        page = as_client.get(reverse("messaging:conversation", args=[conversation.pk])).text
        listing = as_client.get(reverse("messaging:conversations")).text

    note = _call_note(page)
    assert EMERGENCY in note
    assert MAIN not in note
    assert closed_words in note
    assert EMERGENCY in _call_note(listing)
    reply = _emergency_reply(page)
    assert EMERGENCY in reply
    assert "04 78 00 00 00" not in reply  # the clinic's own line rings in an empty room
    stored = conversation.messages.get(kind=Kind.EMERGENCY).body
    assert stored.startswith("Réponse automatique" if language == "fr" else "Automatic reply")


@pytest.mark.parametrize(
    ("language", "words"), [("fr", "heures d'ouverture"), ("en", "opening hours")]
)
def test_in_hours_the_page_and_the_reply_give_the_clinics_number(
    client_user, clinic_hours, language, words
):
    with time_machine.travel(IN_HOURS, tick=False):
        as_client = _signed_in(language, client_user)
        conversation = make_conversation(client_user, body="Mon chien saigne beaucoup")
        page = as_client.get(reverse("messaging:conversation", args=[conversation.pk])).text

    note = _call_note(page)
    assert MAIN in note
    assert EMERGENCY not in note
    assert words in note
    reply = _emergency_reply(page)
    assert MAIN in reply  # call the clinic now...
    assert EMERGENCY in reply  # ...or the emergency line
    assert not conversation.messages.filter(kind=Kind.CLOSED_NOTE).exists()


def test_out_of_hours_the_closed_note_gives_the_emergency_line_too(client_user, clinic_hours):
    with time_machine.travel(SUNDAY_NIGHT, tick=False):
        as_client = _signed_in("fr", client_user)
        conversation = make_conversation(client_user, body="Une question sur son vaccin")
        page = as_client.get(reverse("messaging:conversation", args=[conversation.pk])).text
    note = conversation.messages.get(kind=Kind.CLOSED_NOTE).body
    assert "lundi 30 novembre, 09:00" in note
    assert "04 78 00 00 99" in note
    assert EMERGENCY in page
    assert not conversation.messages.filter(kind=Kind.EMERGENCY).exists()


def test_while_the_hours_are_unknown_the_page_gives_the_clinics_number(client_user):
    with time_machine.travel(SUNDAY_NIGHT, tick=False):
        as_client = _signed_in("fr", client_user)
        conversation = make_conversation(client_user, body="Elle ne respire plus")
        page = as_client.get(reverse("messaging:conversation", args=[conversation.pk])).text
    assert MAIN in _call_note(page)
    reply = _emergency_reply(page)
    assert MAIN in reply
    assert EMERGENCY in reply


def test_only_phone_numbers_become_links_and_the_rest_stays_escaped():
    html = with_tel_links("<b>Appelez</b> le 04 78 00 00 99\nou le +33 4 78 00 00 00.")
    assert html == (
        "&lt;b&gt;Appelez&lt;/b&gt; le "
        + EMERGENCY
        + '<br>ou le <a href="tel:+33478000000">+33 4 78 00 00 00</a>.'
    )
