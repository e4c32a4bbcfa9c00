"""An e-mail bounces: the ESP's webhook reaches the live portal, reception sees the bounced badge
on the client's page, and the client, warned on their preferences page, says the address is
right; in French and in English."""

import re
from base64 import b64encode
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from notifications.models import Channel, Kind, Notification, Preference, PreferenceChange, Status
from tests.browser.conftest import sign_in, sign_in_staff
from tests.notifications.test_email_bounces import (
    MESSAGE_ID,
    SECRET,
    SIGNING_KEY,
    mailgun_event,
    permanent_failure,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mailgun(settings):
    settings.EMAIL_BACKEND_NAME = "mailgun"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


def test_a_bounce_is_seen_by_reception_and_the_client_confirms_the_address(
    any_page: Page, say, mailgun, client_user, reception
):
    page = any_page
    camille = client_user.client
    now = timezone.now()
    Notification.objects.create(
        client=camille,
        recipient=camille.email,
        channel=Channel.EMAIL,
        kind=Kind.APPOINTMENT_REMINDER,
        subject="Reminder",
        body="See you tomorrow.",
        scheduled_at=now - timedelta(hours=1),
        sent_at=now - timedelta(hours=1),
        status=Status.SENT,
        provider_id=MESSAGE_ID,
        idempotency_key="reminder-48h:appointment:1:v1:email",
    )

    # Mailgun posts the hard bounce to the portal, with the basic-auth secret and its signature.
    answer = page.request.post(
        "/notifications/anymail/mailgun/tracking/",
        data=mailgun_event(permanent_failure(camille.email, at=now)),
        headers={
            "Authorization": "Basic " + b64encode(SECRET.encode()).decode(),
            "Content-Type": "application/json",
        },
    )
    assert answer.status == 200
    assert Preference.objects.get(client=camille).email_valid is False

    # Reception sees it on the client's page before promising an e-mail.
    sign_in_staff(page, reception)
    page.goto(f"/staff/clients/{camille.pk}/")
    badge = page.get_by_text(say("E-mail en échec (rebond)", "E-mail bounced"), exact=True)
    expect(badge).to_be_visible()
    page.context.clear_cookies()

    # The client is warned on their preferences page and says the address is right.
    sign_in(page, client_user.email)
    page.goto("/notifications/preferences/")
    warning = page.locator("#email-bounced")
    expect(
        warning.get_by_text(
            say("Les e-mails envoyés à votre adresse reviennent", "E-mails to your address bounced")
        )
    ).to_be_visible()
    page.get_by_role(
        "button", name=say("Mon adresse est correcte", "My address is correct")
    ).click()

    expect(
        page.get_by_text(
            say(
                "Les e-mails seront de nouveau envoyés à votre adresse.",
                "E-mails will go to your address again.",
            )
        )
    ).to_be_visible()
    expect(page.locator("#email-bounced")).to_have_count(0)
    expect(
        page.locator(".journal li").first.get_by_text(
            re.compile(
                say(r"Adresse e-mail valide\s?: non → oui", r"E-mail address valid: no → yes")
            )
        )
    ).to_be_visible()
    assert Preference.objects.get(client=camille).email_valid is True
    assert PreferenceChange.objects.filter(client=camille, what="email_valid").count() == 2
