from datetime import timedelta

import pytest
import time_machine
from django.test import Client as HttpClient
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories


def code_for(device: TOTPDevice) -> str:
    """The code the user's phone shows now (freeze time around it to control "now")."""
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{value:06d}"


def logged_in(user) -> HttpClient:
    return factories.http_client(user)


@pytest.mark.django_db
def test_staff_without_a_device_reach_only_the_enrolment_page(clinic):
    vet = factories.make_user(role="vet")
    http = logged_in(vet)

    for path in ("/", "/staff/clients/", "/account/profile/"):
        response = http.get(path)
        assert response.status_code == 302
        assert response.url == "/account/2fa/setup/"
    assert http.get("/account/2fa/setup/").status_code == 200


@pytest.mark.django_db
def test_enrolment_confirms_the_device_and_shows_backup_codes_once(clinic):
    vet = factories.make_user(role="vet")
    http = logged_in(vet)
    page = http.get("/account/2fa/setup/")
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=vet)

    response = http.post("/account/2fa/setup/", {"token": code_for(device)})

    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 10
    assert StaticToken.objects.filter(device__user=vet).count() == 10
    device.refresh_from_db()
    assert device.confirmed
    assert http.get("/").status_code == 200


@pytest.mark.django_db
def test_a_wrong_enrolment_code_is_refused_and_nothing_is_confirmed(clinic):
    vet = factories.make_user(role="vet")
    http = logged_in(vet)
    http.get("/account/2fa/setup/")

    response = http.post("/account/2fa/setup/", {"token": "000000"})

    assert response.status_code == 200
    assert "This code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=vet, confirmed=True).exists()
    assert not StaticToken.objects.exists()
    assert http.get("/").url == "/account/2fa/setup/"


@pytest.mark.django_db
def test_a_staff_login_asks_for_the_code_then_lets_them_in(vet):
    http = logged_in(vet)
    device = TOTPDevice.objects.get(user=vet)

    assert http.get("/staff/clients/").url == "/account/2fa/verify/?next=%2Fstaff%2Fclients%2F"
    response = http.post(
        "/account/2fa/verify/", {"token": code_for(device), "next": "/staff/clients/"}
    )

    assert response.status_code == 302
    assert response.url == "/staff/clients/"
    assert http.get("/staff/clients/").status_code == 200


@pytest.mark.django_db
def test_a_code_cannot_be_used_twice(vet):
    device = TOTPDevice.objects.get(user=vet)
    code = code_for(device)
    first = logged_in(vet)
    first.post("/account/2fa/verify/", {"token": code})

    second = logged_in(vet)
    response = second.post("/account/2fa/verify/", {"token": code})

    assert response.status_code == 200
    assert "already used" in response.content.decode()
    assert second.get("/").status_code == 302


@pytest.mark.django_db
def test_wrong_codes_are_throttled_even_when_the_next_one_is_right(vet):
    http = logged_in(vet)
    device = TOTPDevice.objects.get(user=vet)
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        for _ in range(3):
            http.post("/account/2fa/verify/", {"token": "123456"})
        response = http.post("/account/2fa/verify/", {"token": code_for(device)})

    assert "Too many wrong codes" in response.content.decode()
    assert http.get("/").status_code == 302

    with time_machine.travel(now + timedelta(seconds=30), tick=False):
        later = http.post("/account/2fa/verify/", {"token": code_for(device)})
    assert later.status_code == 302


@pytest.mark.django_db
def test_a_backup_code_works_once(clinic):
    vet = factories.make_user(role="vet")
    http = logged_in(vet)
    http.get("/account/2fa/setup/")
    codes = http.post(
        "/account/2fa/setup/", {"token": code_for(TOTPDevice.objects.get(user=vet))}
    ).context["codes"]

    again = logged_in(vet)
    assert again.post("/account/2fa/verify/", {"token": codes[0]}).status_code == 302
    third = logged_in(vet)
    refused = third.post("/account/2fa/verify/", {"token": codes[0]})
    assert refused.status_code == 200
    assert third.get("/").status_code == 302


@pytest.mark.django_db
def test_the_next_parameter_cannot_send_the_user_elsewhere(vet):
    http = logged_in(vet)
    device = TOTPDevice.objects.get(user=vet)

    response = http.post(
        "/account/2fa/verify/", {"token": code_for(device), "next": "https://evil.example/"}
    )

    assert response.url == "/"


@pytest.mark.django_db
def test_two_factor_is_optional_for_clients_and_then_enforced(as_client, client_user):
    assert as_client.get("/").status_code == 200
    as_client.get("/account/2fa/setup/")
    device = TOTPDevice.objects.get(user=client_user)
    as_client.post("/account/2fa/setup/", {"token": code_for(device)})

    fresh = logged_in(client_user)

    assert fresh.get("/").url.startswith("/account/2fa/verify/")


@pytest.mark.django_db
def test_a_client_turns_two_factor_off_only_with_a_current_code(as_client, client_user):
    as_client.get("/account/2fa/setup/")
    device = TOTPDevice.objects.get(user=client_user)
    as_client.post("/account/2fa/setup/", {"token": code_for(device)})

    as_client.post("/account/2fa/disable/", {"token": "000000"})
    assert TOTPDevice.objects.filter(user=client_user).exists()

    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        device.refresh_from_db()
        as_client.post("/account/2fa/disable/", {"token": code_for(device)})
    assert not TOTPDevice.objects.filter(user=client_user).exists()


@pytest.mark.django_db
def test_staff_cannot_turn_two_factor_off(as_vet, vet):
    response = as_vet.post("/account/2fa/disable/", {"token": "000000"})

    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=vet).exists()
