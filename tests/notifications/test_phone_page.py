"""The client's page to check their mobile number (/notifications/phone/), and the preferences
page saying whether it is checked. French and English; a stranger checks only their own."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import time_machine
from django.test import TestCase
from django.urls import reverse

from notifications.models import Preference, PreferenceChange, VerificationCode
from tests import factories
from tests.notifications.factories import with_phone

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 Paris
URL = "/notifications/phone/"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def camille(client_user):
    return with_phone(client_user.client, "+33612345678", verified=False)


def post(http, data, **kwargs):
    """POST and run the commit hooks (the dispatch's enqueue), as a real commit would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return http.post(URL, data, **kwargs)


def code_from(sms_outbox) -> str:
    return re.search(r"\b(\d{6})\b", sms_outbox[-1].body).group(1)


def test_the_route_is_the_one_documented():
    assert reverse("notifications:phone") == URL


def test_it_shows_the_number_and_offers_a_code(clock, camille, as_client):
    response = as_client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "06 12 34 56 78" in html
    assert "not verified" in html
    assert 'name="send"' in html
    assert 'name="code"' not in html  # no code waits yet


def test_a_client_gets_a_code_types_it_and_the_number_is_checked(
    clock, camille, as_client, run_tasks, sms_outbox
):
    response = post(as_client, {"send": "1"}, follow=True)
    assert "A code is on its way to 06 12 34 56 78" in response.content.decode()
    run_tasks()
    html = as_client.get(URL).content.decode()
    field = re.search(r"<input[^>]*name=\"code\"[^>]*>", html).group(0)
    assert 'inputmode="numeric"' in field
    assert 'autocomplete="one-time-code"' in field
    assert "You can ask for a new code in 30 seconds" in html
    response = post(as_client, {"code": code_from(sms_outbox)}, follow=True)
    html = response.content.decode()
    assert "Your mobile number is checked." in html
    assert ">verified<" in html
    assert Preference.objects.get(client=camille).phone_verified
    assert PreferenceChange.objects.filter(client=camille, what="phone_verified").count() == 1


def test_a_wrong_code_is_a_field_error_and_ticks_nothing(
    clock, camille, as_client, run_tasks, sms_outbox
):
    post(as_client, {"send": "1"})
    run_tasks()
    wrong = f"{(int(code_from(sms_outbox)) + 1) % 10**6:06d}"
    response = post(as_client, {"code": wrong})
    assert response.status_code == 400
    assert "This code is not right. Tries left: 4." in response.content.decode()
    assert not Preference.objects.get(client=camille).phone_verified


@pytest.mark.parametrize("typed", ["12ab56", "123", ""])
def test_garbage_is_a_field_error_and_costs_no_try(clock, camille, as_client, run_tasks, typed):
    post(as_client, {"send": "1"})
    response = post(as_client, {"code": typed})
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert VerificationCode.objects.get(client=camille).attempts == 0


def test_asking_again_too_soon_says_how_long_to_wait(clock, camille, as_client, sms_outbox):
    post(as_client, {"send": "1"})
    clock.shift(timedelta(seconds=10))
    response = post(as_client, {"send": "1"}, follow=True)
    assert "Wait 20 seconds before asking for a new code." in response.content.decode()
    assert VerificationCode.objects.get(client=camille).sends == 1


def test_it_reads_in_french(clock, camille, client_user, run_tasks, sms_outbox):
    http = factories.http_client(client_user)
    headers = {"accept-language": "fr"}
    html = http.get(URL, headers=headers).content.decode()
    assert "Vérifier mon numéro de mobile" in html
    assert "non vérifié" in html
    response = post(http, {"send": "1"}, headers=headers, follow=True)
    assert "Un code est en route vers le 06 12 34 56 78" in response.content.decode()
    run_tasks()
    response = post(http, {"code": "000000"}, headers=headers)
    html = unescape(response.content.decode())
    assert "Ce code n'est pas le bon. Essais restants : 4." in html
    assert "Vous pourrez demander un nouveau code dans 30 secondes (à 10:00:30)." in html


def test_a_stranger_only_ever_checks_their_own_number(
    clock, camille, other_client_user, as_other_client, run_tasks, sms_outbox
):
    """The page has no id to change: the stranger's code goes to the stranger's number, and
    Camille's code typed in the stranger's session checks nothing of Camille's."""
    with_phone(other_client_user.client, "+33698765432", verified=False)
    http = factories.http_client(camille.user)
    post(http, {"send": "1"})
    run_tasks()
    camilles_code = code_from(sms_outbox)
    response = post(as_other_client, {"code": camilles_code})
    assert response.status_code == 400
    assert "No code is waiting" in response.content.decode()
    post(as_other_client, {"send": "1"})
    run_tasks()
    assert sms_outbox[-1].to == "+33698765432"
    assert not Preference.objects.get(client=camille).phone_verified
    assert not Preference.objects.get(client=other_client_user.client).phone_verified


def test_staff_and_visitors_are_refused(clock, as_reception, client):
    assert as_reception.get(URL).status_code in (403, 404)
    assert client.get(URL).status_code == 302


def test_a_client_without_a_number_is_sent_to_their_details(clock, as_client):
    html = as_client.get(URL).content.decode()
    assert reverse("portal:profile") in html
    assert 'name="send"' not in html


def test_the_preferences_page_says_verified_or_offers_to_verify(clock, camille, as_client):
    html = as_client.get(reverse("notifications:preferences")).content.decode()
    assert "not verified" in html
    assert f'href="{URL}"' in html
    Preference.objects.filter(client=camille).update(
        phone_verified=True, verified_phone="+33612345678"
    )
    html = as_client.get(reverse("notifications:preferences")).content.decode()
    assert ">verified<" in html
    assert f'href="{URL}"' not in html


def test_the_staff_page_shows_the_tick_for_the_current_number_only(clock, camille, as_reception):
    Preference.objects.filter(client=camille).update(
        phone_verified=True,
        verified_phone="+33600000000",  # an older number
    )
    url = reverse("notifications:client_history", args=[camille.pk])
    html = as_reception.get(url).content.decode()
    assert "not checked" in html
    as_reception.post(
        reverse("notifications:client_phone", args=[camille.pk]), {"phone_verified": "1"}
    )
    assert Preference.objects.get(client=camille).verified_phone == "+33612345678"
