"""Foundation journeys, in French and in English: sign-up, two-step sign-in, the refusal."""

import base64
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from portal.models import User
from tests import factories
from tests.browser.conftest import sign_in, sign_in_with_form, snap, snap_widths

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_client_signs_up_verifies_the_email_and_sees_the_dashboard(
    any_page: Page, say, language, clinic
):
    page = any_page
    page.goto("/accounts/signup/")
    snap(page, f"signup-phone-{language}")
    page.get_by_label(say("Prénom", "First name")).fill("Margaux")
    page.get_by_label(say("Nom", "Last name"), exact=True).fill("Vidal")
    page.get_by_label(say("Adresse e-mail", "Email")).fill("margaux.vidal@example.com")
    page.get_by_label(say("Téléphone mobile", "Mobile phone")).fill("06 12 34 56 78")
    page.get_by_label(say("Mot de passe", "Password"), exact=True).fill("Vraiment-long-2026")
    page.get_by_label(say("Mot de passe (confirmation)", "Password (again)")).fill(
        "Vraiment-long-2026"
    )
    page.get_by_role("button", name=say("Créer mon compte", "Create my account")).click()

    expect(
        page.get_by_role(
            "heading", name=say("Vérifiez votre adresse e-mail", "Verify Your Email Address")
        )
    ).to_be_visible()
    link = re.search(r"(/accounts/confirm-email/\S+)", mail.outbox[-1].body).group(1)
    page.goto(link)
    page.get_by_role("button", name=say("Confirmer", "Confirm")).click()

    hello = say("Bonjour Margaux", "Hello Margaux")
    expect(page.get_by_role("heading", name=hello)).to_be_visible()
    page.get_by_role("button", name=say("Se déconnecter", "Sign out")).click()

    sign_in_with_form(page, "margaux.vidal@example.com", "Vraiment-long-2026")
    expect(page.get_by_role("heading", name=hello)).to_be_visible()
    expect(page.get_by_role("link", name="04 78 00 00 00").first).to_be_visible()
    snap_widths(page, f"client-dashboard-{language}")
    assert User.objects.get(email="margaux.vidal@example.com").client.phone == "+33612345678"


def test_a_vet_is_made_to_enrol_two_factor_then_reaches_the_staff_dashboard(
    any_page: Page, say, language, clinic
):
    page = any_page
    vet = factories.make_user(role="vet", first_name="Claire", email="claire@example.com")
    sign_in_with_form(page, vet.email)  # signing in is this journey's subject

    expect(
        page.get_by_role(
            "heading", name=say("Activer la connexion en deux étapes", "Set up two-step sign-in")
        )
    ).to_be_visible()
    snap_widths(page, f"totp-enrolment-{language}")
    # A wrong code is refused and changes nothing.
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name=say("Confirmer", "Confirm")).click()
    wrong = say("Ce code n'est pas le bon", "This code is not right")
    expect(page.get_by_text(wrong)).to_be_visible()
    assert not TOTPDevice.objects.filter(user=vet, confirmed=True).exists()

    # The key shown on the page is what the phone app would hold.
    device = TOTPDevice.objects.get(user=vet)
    shown = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    assert shown == base64.b32encode(device.bin_key).decode()
    # Two seconds later (the wrong code made the device wait one), the right code works.
    with time_machine.travel(timezone.now() + timedelta(seconds=2)):
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        page.get_by_label("Code").fill(f"{code:06d}")
        page.get_by_role("button", name=say("Confirmer", "Confirm")).click()
        expect(page.get_by_test_id("backup-codes").locator("li")).to_have_count(10)
    page.get_by_role("button", name=say("Je les ai conservés", "I have kept them")).click()
    expect(
        page.get_by_role("heading", name=re.compile(say("Bonjour Claire", "Hello Claire")))
    ).to_be_visible()
    snap_widths(page, f"staff-dashboard-{language}")


def test_a_wrong_code_at_sign_in_keeps_the_vet_out(any_page: Page, say, language, clinic):
    page = any_page
    vet = factories.make_staff("vet")
    sign_in_with_form(page, vet.email)  # signing in is this journey's subject

    enter = say("Saisissez votre code", "Enter your code")
    expect(page.get_by_role("heading", name=enter)).to_be_visible()
    page.get_by_label("Code").fill("999999")
    page.get_by_role("button", name=say("Continuer", "Continue")).click()

    wrong = say("Ce code n'est pas le bon", "This code is not right")
    expect(page.get_by_text(wrong)).to_be_visible()
    page.goto("/staff/clients/")
    expect(page.get_by_role("heading", name=enter)).to_be_visible()
    snap(page, f"totp-wrong-code-{language}")


def test_a_client_on_a_staff_page_sees_the_friendly_refusal(
    any_page: Page, say, language, client_user
):
    page = any_page
    sign_in(page, client_user.email)
    expect(
        page.get_by_role("heading", name=say("Bonjour Camille", "Hello Camille"))
    ).to_be_visible()

    page.goto("/staff/clients/")

    expect(
        page.get_by_role(
            "heading",
            name=say(
                "Cette page n'est pas accessible à votre compte",
                "This page is not for your account",
            ),
        )
    ).to_be_visible()
    snap(page, f"forbidden-phone-{language}")
