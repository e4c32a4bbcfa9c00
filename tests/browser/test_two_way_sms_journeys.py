"""Two-way SMS (#13), in French then in English: Camille answers "oui" to her reminder, Twilio
posts it, signed, to the live server; reception opens the agenda and reads "Confirmé (SMS)"."""

import urllib.parse
import urllib.request
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from notifications.models import Channel, InboundSms, Kind, Notification, Preference, Status
from notifications.providers import twilio
from portal.models import Clinic
from tests import factories
from tests.booking.factories import make_appointment, make_practitioner, make_service
from tests.browser.conftest import sign_in_staff

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "journey-auth-token-0123456789"


@pytest.fixture
def reminded(settings, live_url, site, vet, client_user):
    """Camille's Filou is booked in three days at 10:00; the text reminder went an hour ago."""
    settings.NOTIFICATIONS_SMS_BACKEND = "twilio"
    settings.NOTIFICATIONS_TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN = TOKEN
    settings.NOTIFICATIONS_TWILIO_FROM = "+33757000001"
    settings.NOTIFICATIONS_TWILIO_API_URL = "http://127.0.0.1:9"  # the answer is not sent here
    settings.ACCUEIL_BASE_URL = live_url
    camille = client_user.client
    camille.phone = "+33612345678"
    camille.save(update_fields=["phone"])
    Preference.objects.update_or_create(client=camille, defaults={"phone_verified": True})
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    tz = Clinic.current().tz
    day = timezone.now().astimezone(tz).date() + timedelta(days=3)
    appointment = make_appointment(
        client=camille,
        patient=factories.make_patient(camille, name="Filou"),
        service=make_service(site, [dubois]),
        practitioner=dubois,
        starts_at=datetime.combine(day, time(10), tzinfo=tz),
    )
    Notification.objects.create(
        client=camille,
        recipient="+33612345678",
        channel=Channel.SMS,
        kind=Kind.APPOINTMENT_REMINDER,
        body="Tests : rappel, votre rendez-vous.",
        scheduled_at=timezone.now() - timedelta(hours=1),
        status=Status.SENT,
        sent_at=timezone.now() - timedelta(hours=1),
        provider_id="SM" + "5" * 32,
        idempotency_key=f"reminder-{appointment.pk}",
        subject_type="appointment",
        subject_id=appointment.pk,
        subject_version=appointment.version,
    )
    return appointment, day


def post_as_twilio(live_url: str, params: dict[str, str]) -> int:
    url = live_url + "/notifications/webhooks/sms/twilio/inbound/"
    request = urllib.request.Request(  # noqa: S310 (the live server on 127.0.0.1)
        url,
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": twilio.signature(url, params, TOKEN)},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status


def test_a_signed_oui_shows_as_confirmed_by_sms_on_the_agenda(
    any_page: Page, say, live_url, reception, reminded
):
    appointment, day = reminded
    status = post_as_twilio(
        live_url,
        {
            "MessageSid": "SM" + "4" * 32,
            "AccountSid": "AC" + "0" * 32,
            "From": "+33612345678",
            "To": "+33757000001",
            "Body": " oui ",
        },
    )
    assert status == 200
    assert InboundSms.objects.get().outcome == InboundSms.Outcome.CONFIRMED

    page = any_page
    sign_in_staff(page, reception)
    page.goto(f"/booking/staff/agenda/?day={day.isoformat()}")
    block = page.locator(f"#appointment-{appointment.pk}")
    expect(block).to_contain_text("Filou")
    expect(block.locator(".status")).to_have_text(say("Confirmé (SMS)", "Confirmed (SMS)"))
    block.locator(f'a[href$="/appointments/{appointment.pk}/"]').click()
    expect(page.get_by_test_id("status")).to_have_text(say("Confirmé (SMS)", "Confirmed (SMS)"))
