"""`manage.py sms_reply`: two-way SMS tried without a provider (README, "Two-way SMS")."""

from datetime import date
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from booking.models import Appointment
from notifications.models import Channel, InboundSms, Kind, Notification, Preference, Status
from tests import factories
from tests.booking.factories import at, book, make_practitioner, make_service

DAY = date(2026, 6, 2)
BOOKED_AT = at(date(2026, 5, 29), 10)
REMINDER_AT = at(date(2026, 6, 1), 10)
REPLY_AT = at(date(2026, 6, 1), 10, 5)


@pytest.fixture
def appointment(client_user, site, vet, plan, settings):
    settings.NOTIFICATIONS_SMS_BACKEND = "locmem"
    camille = client_user.client
    camille.phone = "+33612345678"
    camille.save(update_fields=["phone"])
    Preference.objects.update_or_create(client=camille, defaults={"phone_verified": True})
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    filou = factories.make_patient(camille, name="Filou")
    with time_machine.travel(BOOKED_AT, tick=False):
        booked = plan(
            book,
            client_user,
            filou,
            make_service(site, [dubois]),
            at(DAY, 10),
            now=BOOKED_AT,
            practitioner=dubois,
        )
    return booked.appointment


def test_an_oui_typed_at_the_command_line_confirms_as_a_text_would(appointment, run_tasks):
    with time_machine.travel(REMINDER_AT, tick=False):
        run_tasks()
    assert Notification.objects.filter(
        kind=Kind.APPOINTMENT_REMINDER, channel=Channel.SMS, status=Status.SENT
    ).exists()
    out = StringIO()
    with time_machine.travel(REPLY_AT, tick=False):
        call_command("sms_reply", "06 12 34 56 78", " oui ", stdout=out)
    appointment.refresh_from_db()
    assert appointment.confirmed_via == Appointment.ConfirmedVia.SMS
    assert appointment.confirmed_at == REPLY_AT
    inbound = InboundSms.objects.get()
    assert (inbound.provider, inbound.from_number) == ("console", "+33612345678")
    assert out.getvalue().strip() == "+33612345678: Rendez-vous confirmé"


def test_an_empty_text_is_refused_and_nothing_is_stored(db):
    with pytest.raises(CommandError, match="empty"):
        call_command("sms_reply", "+33612345678", "  ")
    assert not InboundSms.objects.exists()
