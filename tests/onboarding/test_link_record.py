"""After a plain sign-up whose e-mail matched a file the clinic keeps: linked only with the code
sent to that file's own contact."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from notifications.models import Kind, Notification
from portal.accounts import POSSIBLE_RECORD_SESSION_KEY
from portal.models import Client
from tests import factories

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 29, 21, 40, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture(autouse=True)
def sunday_evening(_test_clock):
    with time_machine.travel(NOW, tick=False):
        yield


def test_the_sign_up_notes_the_matching_file_without_linking_it(client, clinic):
    known = factories.make_client(first_name="Marie", email="marie@example.com")
    client.post(
        reverse("account_signup"),
        {
            "first_name": "Marie",
            "last_name": "Curie",
            "email": "Marie@example.com",
            "password1": "un-mot-de-passe-solide",
            "password2": "un-mot-de-passe-solide",
        },
    )
    known.refresh_from_db()
    assert known.user is None
    assert client.session[POSSIBLE_RECORD_SESSION_KEY] == known.pk
    assert Client.objects.filter(email__iexact="marie@example.com").count() == 2


def _signed_up_with_match(email="marie@example.com"):
    known = factories.make_client(first_name="Marie", email=email, phone="+33612345678")
    filou = factories.make_patient(known, name="Filou")
    user = factories.make_client_user(first_name="Marie", email=email)
    http = factories.http_client(user)
    session = http.session
    session[POSSIBLE_RECORD_SESSION_KEY] = known.pk
    session.save()
    return known, filou, user, http


def test_the_home_offers_to_link_and_the_code_to_the_files_address_links_it(
    clinic, django_capture_on_commit_callbacks
):
    known, _filou, user, http = _signed_up_with_match()
    home = http.get("/").content.decode()
    assert "We may already have your file" in home
    url = reverse("onboarding:link_record")
    assert "m•••@example.com" in http.get(url).content.decode()
    http.post(url, {"send": "1"})
    message = Notification.objects.get(kind=Kind.VERIFICATION_CODE, client=known)
    assert (message.channel, message.recipient) == ("email", "marie@example.com")
    code = re.search(r"\b(\d{6})\b", message.body).group(1)
    assert http.post(url, {"code": "000000"}).status_code == 400
    known.refresh_from_db()
    assert known.user is None
    http.post(url, {"code": code})
    known.refresh_from_db()
    assert known.user == user
    assert not Client.objects.exclude(pk=known.pk).filter(email="marie@example.com").exists()
    page = http.get(reverse("records:my_animals")).content.decode()
    assert "Filou" in page
    assert "We may already have your file" not in http.get("/").content.decode()


def test_a_stranger_without_the_match_in_their_session_links_nothing(clinic):
    known, _filou, _user, _http = _signed_up_with_match()
    stranger = factories.http_client(factories.make_client_user(first_name="Zoé"))
    response = stranger.get(reverse("onboarding:link_record"))
    assert response["Location"] == reverse("portal:home")
    assert stranger.post(reverse("onboarding:link_record"), {"send": "1"}).status_code == 302
    assert not Notification.objects.filter(kind=Kind.VERIFICATION_CODE).exists()
    known.refresh_from_db()
    assert known.user is None
    assert not mail.outbox


def test_create_your_account_keeps_where_the_person_was_going(client, clinic):
    page = client.get(reverse("account_login") + "?next=/household/join/abc/").content.decode()
    assert 'href="/accounts/signup/?next=/household/join/abc/"' in page
    signup = client.get("/accounts/signup/?next=/household/join/abc/").content.decode()
    assert 'value="/household/join/abc/"' in signup
