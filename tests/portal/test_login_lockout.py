"""Failed sign-ins lock one account, not the whole clinic behind its one internet address.

Reception, the vets and the clients in the waiting room all reach the portal from the clinic's
single public IP. A lock per IP after 5 failures locked every one of them out because one person
mistyped; the account is now what locks (5 failures in 5 minutes) and the IP only after many
more (30), and the locked person reads how long to wait and whom to call.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client as HttpClient

from portal.models import Role
from tests import factories

PARIS = ZoneInfo("Europe/Paris")
MORNING = datetime(2026, 12, 1, 8, 30, tzinfo=PARIS)
CLINIC_IP = "203.0.113.7"


def _browser(language: str = "fr") -> HttpClient:
    return HttpClient(headers={"accept-language": language}, REMOTE_ADDR=CLINIC_IP)


def _sign_in(http: HttpClient, email: str, password: str):
    return http.post("/accounts/login/", {"login": email, "password": password})


@pytest.fixture
def camille(clinic):
    return factories.make_client_user(first_name="Camille", email="camille@example.com")


@pytest.fixture
def bruno(clinic):
    return factories.make_staff(Role.RECEPTION, email="bruno@example.com")


@pytest.mark.django_db
def test_it_does_not_lock_bruno_out_when_camille_mistypes_from_the_same_ip(camille, bruno):
    with time_machine.travel(MORNING, tick=False):
        for _ in range(5):
            _sign_in(_browser(), camille.email, "pas-le-bon")

        response = _sign_in(_browser(), bruno.email, factories.PASSWORD)

    assert response.status_code == 302
    assert "Trop de tentatives" not in response.content.decode()


@pytest.mark.django_db
def test_it_locks_camilles_account_and_says_how_long_and_whom_to_call(camille):
    with time_machine.travel(MORNING, tick=False):
        for _ in range(5):
            _sign_in(_browser(), camille.email, "pas-le-bon")

    with time_machine.travel(MORNING + timedelta(minutes=1), tick=False):
        locked = _sign_in(_browser(), camille.email, factories.PASSWORD)

    page = locked.content.decode()
    assert locked.status_code == 200
    assert "dans 4 minutes" in page
    assert "04 78 00 00 00" in page
    assert 'href="tel:+33478000000"' in page
    assert "_auth_user_id" not in locked.client.session


@pytest.mark.django_db
def test_the_lock_reads_in_english_too_and_counts_down(camille):
    with time_machine.travel(MORNING, tick=False):
        for _ in range(5):
            _sign_in(_browser("en"), camille.email, "wrong")

    with time_machine.travel(MORNING + timedelta(minutes=4, seconds=10), tick=False):
        page = _sign_in(_browser("en"), camille.email, factories.PASSWORD).content.decode()

    assert "Try again in 1 minute," in page
    assert "04 78 00 00 00" in page


@pytest.mark.django_db
def test_the_lock_lifts_after_five_minutes(camille):
    with time_machine.travel(MORNING, tick=False):
        for _ in range(5):
            _sign_in(_browser(), camille.email, "pas-le-bon")

    with time_machine.travel(MORNING + timedelta(minutes=5, seconds=1), tick=False):
        response = _sign_in(_browser(), camille.email, factories.PASSWORD)

    assert response.status_code == 302


@pytest.mark.django_db
def test_it_locks_the_ip_after_many_failures_across_accounts(clinic, bruno):
    for attempt in range(30):  # a guesser trying address after address, every 9 seconds
        with time_machine.travel(MORNING + timedelta(seconds=9 * attempt), tick=False):
            _sign_in(_browser(), f"guess{attempt}@example.com", "pas-le-bon")

    with time_machine.travel(MORNING + timedelta(minutes=4, seconds=30), tick=False):
        response = _sign_in(_browser(), bruno.email, factories.PASSWORD)
        elsewhere = HttpClient(headers={"accept-language": "fr"}, REMOTE_ADDR="198.51.100.9")
        from_home = _sign_in(elsewhere, bruno.email, factories.PASSWORD)

    assert response.status_code == 200
    assert "Trop de tentatives" in response.content.decode()
    assert "dans 1 minute," in response.content.decode()
    assert from_home.status_code == 302


@pytest.mark.django_db
def test_a_flood_of_requests_gets_a_page_with_the_wait_and_the_phone_not_a_bare_429(clinic):
    with time_machine.travel(MORNING, tick=False):
        responses = [_sign_in(_browser(), "robot@example.com", "x") for _ in range(61)]

    page = responses[-1].content.decode()
    assert responses[-1].status_code == 429
    assert "Trop de tentatives" in page
    assert "une minute" in page
    assert 'href="tel:+33478000000"' in page
