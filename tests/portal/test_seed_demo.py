from io import StringIO

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import Client, Clinic, Role, User
from records.models import Patient


def _counts() -> tuple[int, int, int, int]:
    return (
        User.objects.count(),
        Client.objects.count(),
        Patient.objects.count(),
        TOTPDevice.objects.count(),
    )


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path) -> None:
    # The demo seeds an encrypted report: keep it out of the developer's var/media.
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.django_db
def test_it_seeds_the_demo_clinic_once_however_often_it_runs():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    first = _counts()
    call_command("seed_demo", stdout=StringIO())

    assert _counts() == first
    assert Clinic.current().name == "Clinique vétérinaire des Tilleuls"
    assert User.objects.filter(role=Role.VET).count() == 3
    assert User.objects.filter(role=Role.RECEPTION).count() == 2
    assert User.objects.filter(role=Role.MANAGER).count() == 1
    assert Client.objects.filter(user__isnull=False).count() == 20
    for client in Client.objects.all():
        assert 1 <= Patient.objects.of_client(client).count() <= 3
    text = out.getvalue()
    assert "tilleuls-demo-2026" in text
    assert "dr.dubois@example.com" in text
    assert "TOTP secret" in text


@pytest.mark.django_db
def test_every_demo_staff_account_has_a_working_authenticator():
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()

    call_command("demo_totp", "dr.dubois@example.com", stdout=out)

    code = out.getvalue().strip()
    device = TOTPDevice.objects.get(user__email="dr.dubois@example.com")
    assert len(code) == 6
    assert device.verify_token(code)
    staff = User.objects.exclude(role=Role.CLIENT)
    assert all(TOTPDevice.objects.filter(user=u, confirmed=True).exists() for u in staff)


@pytest.mark.django_db
def test_demo_logins_work_with_the_printed_password(client):
    call_command("seed_demo", stdout=StringIO())

    response = client.post(
        "/accounts/login/",
        {"login": "camille.martin@example.com", "password": "tilleuls-demo-2026"},
    )

    assert response.status_code == 302
    assert client.get("/").status_code == 200
