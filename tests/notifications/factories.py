"""Factories for notifications tests: appointment notices and clients who can get texts."""

import itertools
from datetime import datetime, timedelta

from notifications.contracts import AppointmentNotice
from notifications.models import Preference
from portal.models import Client

_seq = itertools.count(1)

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Test\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def make_notice(client: Client, starts_at: datetime, **fields) -> AppointmentNotice:
    appointment_id = fields.pop("appointment_id", next(_seq) + 1000)
    defaults = {
        "appointment_id": appointment_id,
        "version": 1,
        "client_id": client.pk,
        "patient_name": "Filou",
        "service_name": "Vaccination",
        "practitioner_name": "Dr Claire Dubois",
        "site_name": "Tilleuls",
        "site_address": "12 avenue des Tilleuls, Lyon",
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(minutes=20),
        "confirm_url": f"http://testserver/booking/r/confirm-{appointment_id}/",
        "cancel_url": f"http://testserver/booking/r/cancel-{appointment_id}/",
        "move_url": f"http://testserver/booking/r/move-{appointment_id}/",
        "ics": ICS,
    }
    defaults.update(fields)
    return AppointmentNotice(**defaults)


def with_phone(
    client: Client,
    phone: str = "+33612345678",
    *,
    sms_for: tuple = (),
    language: str = "en",
    verified: bool = True,
) -> Client:
    """The client with a mobile number, reading messages in `language` (English by default, so
    tests read like the source strings; French is tested apart). The number is checked (texts
    go only to checked numbers) unless `verified=False`."""
    client.phone = phone
    client.preferred_language = language
    client.save(update_fields=["phone", "preferred_language"])
    preference, _ = Preference.objects.get_or_create(client=client)
    for topic in sms_for:
        preference.channels[topic] = ["email", "sms"]
    preference.phone_verified = verified
    preference.verified_phone = phone if verified and phone.startswith("+") else ""
    preference.save()
    return Client.objects.get(pk=client.pk)
