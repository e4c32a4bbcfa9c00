"""A newcomer books a first visit from the public page: the time is held, the account and the
animal are made, the mobile is checked by a code, the visit is booked."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from booking.models import Appointment, SlotHold
from notifications import backends
from notifications.models import Kind, Notification, Preference
from portal.models import Client, User
from records.models import Patient
from tests import factories
from tests.booking.factories import make_practitioner, make_service

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
# A Sunday evening: the clinic is closed, and that is when newcomers book.
SUNDAY_EVENING = datetime(2026, 11, 29, 21, 40, tzinfo=PARIS)
TUESDAY_NINE = datetime(2026, 12, 1, 9, 0, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def sunday_evening(_test_clock, settings, tmp_path):
    settings.NOTIFICATIONS_SMS_BACKEND = "locmem"
    settings.MEDIA_ROOT = tmp_path / "media"
    backends.outbox.clear()
    with time_machine.travel(SUNDAY_EVENING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic_open(site):
    site.address = "12 avenue des Tilleuls\n69006 Lyon"
    site.save()
    vet = make_practitioner(site, days=range(1, 6))
    first = make_service(site, [vet], slug="premiere", name="Première consultation", duration=20)
    first.first_visit_minutes = 40
    first.save()
    make_service(site, [vet], slug="suivi", name="Suivi", duration=20).__class__.objects.filter(
        slug="suivi"
    ).update(new_clients_allowed=False)
    return first


def _code() -> str:
    """The code in the last message planned (the test's transaction never commits, so the
    outbox row is read, not the provider's)."""
    latest = Notification.objects.filter(kind=Kind.VERIFICATION_CODE).latest("pk")
    return re.search(r"\b(\d{6})\b", latest.body).group(1)


def _account_data(**overrides):
    data = {
        "me-first_name": "Inès",
        "me-last_name": "Nouvelle",
        "me-email": "ines.nouvelle@example.com",
        "me-phone": "06 12 34 56 78",
        "me-password": "un-mot-de-passe-solide",
        "animal-name": "Pistache",
        "animal-species": "cat",
        "animal-breed": "Européen",
        "animal-sex": "f",
        "animal-age_years": "0",
        "animal-age_months": "3",
    }
    data.update(overrides)
    return data


def test_the_public_page_shows_the_clinic_to_anyone(client, clinic_open, clinic):
    page = client.get("/").content.decode()
    assert clinic.name in page
    assert "12 avenue des Tilleuls" in page
    assert "openstreetmap.org/search?query=12+avenue+des+Tilleuls%2C+69006+Lyon" in page
    assert 'href="tel:+33478000000"' in page
    assert "Première consultation" in page
    assert "Suivi" not in page  # existing clients only
    assert "09:00\u201312:00, 14:00\u201319:00" in page  # en dashes
    assert reverse("onboarding:start") in page


def test_the_public_page_reads_in_french(client, clinic_open):
    page = client.get("/", headers={"accept-language": "fr"}).content.decode()
    assert "Prendre rendez-vous" in page
    assert "Horaires" in page


def test_a_signed_in_client_still_gets_their_space(as_client, clinic_open):
    page = as_client.get("/")
    assert page.templates[0].name == "portal/home_client.html"


def test_a_newcomer_books_a_first_visit_on_a_sunday_evening(client, clinic_open):
    day = client.get(reverse("onboarding:day", args=["premiere"]))
    assert day.context["duration"] == 40
    first = day.context["slots"][0]
    assert first == TUESDAY_NINE  # the clinic is closed on Mondays
    held = client.post(
        reverse("onboarding:hold", args=["premiere"]), {"starts_at": first.isoformat()}
    )
    assert held["Location"] == reverse("onboarding:account")
    hold = SlotHold.objects.get()
    assert hold.expires_at == SUNDAY_EVENING + timedelta(minutes=10)

    made = client.post(reverse("onboarding:account"), _account_data())
    assert made["Location"] == reverse("onboarding:verify")
    user = User.objects.get(email="ines.nouvelle@example.com")
    pistache = Patient.objects.get(name="Pistache")
    assert pistache.declared_by_owner
    assert pistache.birth_date_estimated
    assert user.client.phone == "+33612345678"
    assert not Preference.objects.get(client=user.client).phone_verified
    code_sms = Notification.objects.get(kind=Kind.VERIFICATION_CODE)
    assert (code_sms.channel, code_sms.recipient) == ("sms", "+33612345678")

    wrong = client.post(reverse("onboarding:verify"), {"code": "000000"})
    assert wrong.status_code == 400
    assert not Appointment.objects.exists()

    booked = client.post(reverse("onboarding:verify"), {"code": _code()})
    appointment = Appointment.objects.get()
    assert booked["Location"] == reverse("booking:detail", args=[appointment.pk])
    assert (appointment.client, appointment.patient) == (user.client, pistache)
    assert appointment.starts_at == first
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=40)
    assert Preference.objects.get(client=user.client).phone_verified
    assert not SlotHold.objects.exists()
    assert client.get(booked["Location"]).status_code == 200


def test_a_held_time_is_not_offered_to_anyone_else(client, clinic_open):
    first = client.get(reverse("onboarding:day", args=["premiere"])).context["slots"][0]
    client.post(reverse("onboarding:hold", args=["premiere"]), {"starts_at": first.isoformat()})
    other = factories.http_client()
    assert first not in other.get(reverse("onboarding:day", args=["premiere"])).context["slots"]
    taken = other.post(
        reverse("onboarding:hold", args=["premiere"]), {"starts_at": first.isoformat()}, follow=True
    )
    assert "account" not in taken.redirect_chain[-1][0]
    assert SlotHold.objects.count() == 1


def test_a_lapsed_hold_says_so_and_keeps_the_account_going(client, clinic_open, sunday_evening):
    first = client.get(reverse("onboarding:day", args=["premiere"])).context["slots"][0]
    client.post(reverse("onboarding:hold", args=["premiere"]), {"starts_at": first.isoformat()})
    sunday_evening.shift(timedelta(minutes=11))
    response = client.post(reverse("onboarding:account"), _account_data(), follow=True)
    assert "free again" in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("onboarding:day", args=["premiere"])
    assert not User.objects.filter(email="ines.nouvelle@example.com").exists()
    other = factories.http_client()
    assert first in other.get(reverse("onboarding:day", args=["premiere"])).context["slots"]


def test_bad_input_is_said_and_nothing_is_made(client, clinic_open):
    first = client.get(reverse("onboarding:day", args=["premiere"])).context["slots"][0]
    client.post(reverse("onboarding:hold", args=["premiere"]), {"starts_at": first.isoformat()})
    tomorrow = (SUNDAY_EVENING + timedelta(days=1)).date().isoformat()
    response = client.post(
        reverse("onboarding:account"),
        _account_data(**{"me-phone": "12", "animal-birth_date": tomorrow, "me-password": "abc"}),
    )
    assert response.status_code == 400
    assert response.context["person_form"].errors["phone"]
    assert response.context["person_form"].errors["password"]
    assert response.context["animal_form"].errors
    assert not User.objects.filter(email="ines.nouvelle@example.com").exists()
    assert not Patient.objects.filter(name="Pistache").exists()
    assert SlotHold.objects.count() == 1  # still held


def test_an_existing_account_is_told_to_sign_in(client, clinic_open, client_user):
    first = client.get(reverse("onboarding:day", args=["premiere"])).context["slots"][0]
    client.post(reverse("onboarding:hold", args=["premiere"]), {"starts_at": first.isoformat()})
    response = client.post(
        reverse("onboarding:account"), _account_data(**{"me-email": client_user.email})
    )
    assert "sign in to book" in response.content.decode()
    assert User.objects.filter(email=client_user.email).count() == 1


def test_a_known_record_is_linked_only_with_the_code_sent_to_its_own_number(client, clinic_open):
    known = factories.make_client(
        first_name="Inès", last_name="Nouvelle", phone="+33612345678", email="ancienne@example.com"
    )
    filou = factories.make_patient(known, name="Filou")
    first = client.get(reverse("onboarding:day", args=["premiere"])).context["slots"][0]
    client.post(reverse("onboarding:hold", args=["premiere"]), {"starts_at": first.isoformat()})
    asked = client.post(reverse("onboarding:account"), _account_data())
    assert asked["Location"] == reverse("onboarding:link")
    assert not User.objects.filter(email="ines.nouvelle@example.com").exists()
    page = client.get(asked["Location"]).content.decode()
    assert "56 78" in page
    assert "+33612345678" not in page
    assert client.post(reverse("onboarding:link"), {"code": "000000"}).status_code == 400
    known.refresh_from_db()
    assert known.user is None

    linked = client.post(reverse("onboarding:link"), {"code": _code()})
    known.refresh_from_db()
    assert known.user.email == "ines.nouvelle@example.com"
    assert Client.objects.filter(phone="+33612345678").count() == 1
    # The code went to this very number: it is checked, and the visit is booked at once.
    appointment = Appointment.objects.get()
    assert linked["Location"] == reverse("booking:detail", args=[appointment.pk])
    assert appointment.client == known
    assert set(Patient.objects.of_client(known)) == {filou, Patient.objects.get(name="Pistache")}


def test_not_mine_continues_with_a_new_record(client, clinic_open):
    known = factories.make_client(first_name="Autre", phone="+33612345678")
    first = client.get(reverse("onboarding:day", args=["premiere"])).context["slots"][0]
    client.post(reverse("onboarding:hold", args=["premiere"]), {"starts_at": first.isoformat()})
    client.post(reverse("onboarding:account"), _account_data())
    response = client.post(reverse("onboarding:link"), {"not_mine": "1"})
    assert response["Location"] == reverse("onboarding:verify")
    known.refresh_from_db()
    assert known.user is None
    assert User.objects.get(email="ines.nouvelle@example.com").client != known


def test_existing_clients_only_is_refused_to_a_newcomer(client, clinic_open):
    assert client.get(reverse("onboarding:day", args=["suivi"])).status_code == 404


def test_someone_elses_session_gets_nothing(client, clinic_open):
    assert client.get(reverse("onboarding:account"))["Location"] == reverse("onboarding:start")
    assert client.get(reverse("onboarding:verify"))["Location"] == reverse("onboarding:start")
    assert client.get(reverse("onboarding:link"))["Location"] == reverse("onboarding:start")


def test_a_tampered_time_is_refused(client, clinic_open):
    for value in ("", "demain", "2026-12-01T10:07:00+01:00", "2026-12-01T03:00:00+01:00"):
        response = client.post(
            reverse("onboarding:hold", args=["premiere"]), {"starts_at": value}, follow=True
        )
        assert response.status_code == 200
    assert not SlotHold.objects.exists()


def test_the_day_page_is_bounded_in_queries(client, clinic_open, django_assert_max_num_queries):
    client.get(reverse("onboarding:day", args=["premiere"]))
    with django_assert_max_num_queries(14):
        client.get(reverse("onboarding:day", args=["premiere"]) + "?day=2026-12-02")


def test_first_visit_duration_applies_only_to_a_first_visit(clinic_open, client_user):
    from booking import services as booking

    assert booking.is_new_client(client_user.client)
    assert clinic_open.duration_for(first_visit=True) == timedelta(minutes=40)
    assert clinic_open.duration_for(first_visit=False) == timedelta(minutes=20)
    assert time(9) < time(12)
