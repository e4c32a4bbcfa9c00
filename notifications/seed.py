"""Demo data: clients' choices, a month of messages in every state, a campaign draft.

Idempotent: rows are found by their idempotency key, consents by their journal."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications.models import (
    Campaign,
    Channel,
    Kind,
    Notification,
    NotificationEvent,
    PreferenceChange,
    Status,
)
from notifications.segments import count_segments
from notifications.services import base_url, change_preferences, preference_for, sms_sender
from portal.models import Clinic


@transaction.atomic
def seed_notifications(demo) -> None:
    clients = demo.facts.get("clients", [])
    clinic = Clinic.current()
    now = timezone.now()
    for index, client in enumerate(clients):
        preference = preference_for(client)
        if index % 3 == 0 and not PreferenceChange.objects.filter(client=client).exists():
            change_preferences(
                client=client,
                by=client.user,
                how=PreferenceChange.How.CLIENT_PAGE,
                marketing_opt_in=True,
            )
        # Demo clients gave their number at the desk and the team checked it (issue 12: texts go
        # only to checked numbers), so the demo's reminders and offers reach them by text.
        if not preference.phone_verified:
            change_preferences(
                client=client, by=None, how=PreferenceChange.How.STAFF, phone_verified=True
            )
    sender = sms_sender(clinic)
    # The demo clinic is French: its history reads as the worker would have written it. A
    # reminder is never held back by the weekly cap (only campaigns are): the demo's "not
    # sent" row is a client who turned reminders off.
    with translation.override("fr"):
        states = [
            (Status.DELIVERED, ""),
            (Status.SENT, ""),
            (
                Status.FAILED,
                _("Gave up after %(n)d attempts: %(error)s")
                % {"n": 5, "error": _("provider answered HTTP %(code)d") % {"code": 503}},
            ),
            (Status.SUPPRESSED, _("The client turned reminders and notices off.")),
            (Status.CANCELLED, _("The appointment was cancelled.")),
        ]
        planned = _("Planned.")
    link = base_url()
    for index, client in enumerate(clients[:10]):
        status, reason = states[index % len(states)]
        when = now - timedelta(days=index + 1, hours=index)
        for channel in (Channel.EMAIL, Channel.SMS):
            key = f"demo:reminder:{client.pk}:{channel}"
            if Notification.objects.filter(idempotency_key=key).exists():
                continue
            body = (
                f"{sender} : rappel, votre rendez-vous demain à 10:30. "
                f"Confirmer ou annuler : {link}"
                if channel == Channel.SMS
                else f"Bonjour,\n\nNous vous attendons demain à 10:30.\n\n{clinic.name}"
            )
            row = Notification.objects.create(
                client=client,
                recipient=client.phone if channel == Channel.SMS else client.email,
                channel=channel,
                kind=Kind.APPOINTMENT_REMINDER,
                subject="" if channel == Channel.SMS else "Merci de confirmer votre rendez-vous",
                body=body,
                segments=count_segments(body).segments if channel == Channel.SMS else 0,
                scheduled_at=when,
                sent_at=when if status in (Status.SENT, Status.DELIVERED) else None,
                status=status,
                reason=reason,
                attempts=0 if status in (Status.SUPPRESSED, Status.CANCELLED) else 1,
                idempotency_key=key,
                provider_id=f"demo-{client.pk}-{channel}" if status != Status.FAILED else "",
            )
            NotificationEvent.objects.create(
                notification=row,
                at=when - timedelta(days=1),
                status=Status.SCHEDULED,
                detail=planned,
            )
            NotificationEvent.objects.create(
                notification=row, at=when, status=status, detail=reason or row.provider_id
            )
    Campaign.objects.get_or_create(
        title="Vaccination de printemps",
        defaults={
            "subject": "Pensez au rappel de vaccin de votre animal",
            "body": "Bonjour,\n\nLe printemps arrive : c'est le moment de vérifier les vaccins.",
        },
    )
