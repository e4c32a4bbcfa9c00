"""What a client's data export holds: one JSON document and their published reports as PDF.

Only what the client may already see in their space goes in: published reports (no drafts),
history summaries (never the team's internal notes), and reports only of patients they own or
co-own (a pet-sitter's link gives the history summaries but not the documents, as on the site).
"""

import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

from django.core.files.storage import default_storage

from booking.models import Appointment
from messaging.models import Conversation, Message
from notifications.models import Notification, Preference, PreferenceChange
from portal.lib.crypto import decrypt_stream, keyring_from_settings
from portal.models import Client
from privacy.models import ErasureRequest, ProfileCorrection
from records.models import Guardianship, HistoryEntry, Report, Weight

DOCUMENT_ROLES = (Guardianship.Role.OWNER, Guardianship.Role.CO_OWNER)


def _default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"Cannot put {type(value)} in the export")


def published_reports(client: Client) -> list[Report]:
    return list(
        Report.objects.published()
        .filter(
            patient__guardianships__client=client,
            patient__guardianships__role__in=DOCUMENT_ROLES,
        )
        .select_related("patient")
        .distinct()
        .order_by("date", "pk")
    )


def report_filename(report: Report) -> str:
    plain = unicodedata.normalize("NFKD", f"{report.patient.name}-{report.title}")
    plain = re.sub(r"[^A-Za-z0-9._-]+", "-", plain.encode("ascii", "ignore").decode())
    return f"reports/{report.date:%Y-%m-%d}-{report.pk}-{plain.strip('-._')[:80] or 'report'}.pdf"


def _profile(client: Client) -> dict:
    user = client.user
    return {
        "first_name": client.first_name,
        "last_name": client.last_name,
        "email": client.email,
        "phone": client.phone,
        "address": client.address,
        "preferred_language": client.preferred_language,
        "usual_site": client.usual_site.name if client.usual_site else None,
        "created_at": client.created_at,
        "account": {"email": user.email, "date_joined": user.date_joined} if user else None,
    }


def _patients(client: Client) -> list[dict]:
    links = (
        Guardianship.objects.filter(client=client, role__in=DOCUMENT_ROLES)
        .select_related("patient")
        .order_by("patient__name", "patient_id")
    )
    patients = []
    for link in links:
        patient = link.patient
        entries = (
            HistoryEntry.objects.filter(patient=patient)
            .select_related("practitioner", "vaccination", "treatment")
            .order_by("date", "pk")
        )
        history = []
        for entry in entries:
            item = {
                "date": entry.date,
                "kind": entry.kind,
                "title": entry.title,
                "summary": entry.summary,
                "practitioner": entry.practitioner.get_full_name() if entry.practitioner else None,
            }
            vaccination = getattr(entry, "vaccination", None)
            if vaccination is not None:
                item["vaccination"] = {
                    "vaccine": vaccination.label(patient.species),
                    "batch": vaccination.batch,
                    "next_due": vaccination.next_due,
                }
            treatment = getattr(entry, "treatment", None)
            if treatment is not None:
                item["treatment"] = {
                    "drug": treatment.drug,
                    "dose": treatment.dose,
                    "start": treatment.start,
                    "end": treatment.end,
                }
            history.append(item)
        patients.append(
            {
                "name": patient.name,
                "species": patient.species,
                "breed": patient.breed,
                "sex": patient.sex,
                "neutered": patient.neutered,
                "birth_date": patient.birth_date,
                "identification": patient.microchip,
                "your_role": link.role,
                "history": history,
                "weights": [
                    {"date": weight.date, "kg": weight.kg}
                    for weight in Weight.objects.filter(patient=patient).order_by("date", "pk")
                ],
            }
        )
    return patients


def _appointments(client: Client) -> list[dict]:
    appointments = (
        Appointment.objects.filter(client=client).with_related().order_by("starts_at", "pk")
    )
    return [
        {
            "starts_at": appointment.starts_at,
            "ends_at": appointment.ends_at,
            "patient": appointment.patient.name,
            "service": appointment.service.name,
            "practitioner": appointment.practitioner.name,
            "site": appointment.site.name,
            "status": appointment.status,
            "reason": appointment.reason,
            "cancelled_at": appointment.cancelled_at,
            "cancel_reason": appointment.cancel_reason,
        }
        for appointment in appointments
    ]


def _orders(client: Client) -> list[dict]:
    """Renewals and orders, with each step's status and time (not who at the clinic moved it)."""
    from orders.models import Order

    orders = Order.objects.filter(client=client).select_related("patient", "site")
    return [
        {
            "created_at": order.created_at,
            "patient": order.patient.name,
            "kind": order.kind,
            "item": order.label,
            "quantity": order.quantity,
            "note": order.note,
            "site": order.site.name,
            "status": order.status,
            "reason": order.reason,
            "ready_until": order.ready_until,
            "prescription_attached": bool(order.prescription),
            "steps": [{"status": step.status, "at": step.at} for step in order.steps.all()],
        }
        for order in orders.prefetch_related("steps").order_by("created_at", "pk")
    ]


def _conversations(client: Client) -> list[dict]:
    conversations = (
        Conversation.objects.of_client(client).select_related("patient").order_by("created_at")
    )
    result = []
    for conversation in conversations:
        messages = (
            Message.objects.filter(conversation=conversation)
            .prefetch_related("attachments")
            .order_by("seq")
        )
        result.append(
            {
                "subject": conversation.subject,
                "patient": conversation.patient.name if conversation.patient else None,
                "created_at": conversation.created_at,
                "messages": [
                    {
                        "at": message.created_at,
                        "from": "clinic" if message.from_clinic else "you",
                        "body": message.body,
                        "attachments": [a.name for a in message.attachments.all()],
                    }
                    for message in messages
                ],
            }
        )
    return result


def _notifications(client: Client) -> list[dict]:
    rows = Notification.objects.filter(client=client).order_by("scheduled_at", "pk")
    return [
        {
            "kind": row.kind,
            "channel": row.channel,
            "recipient": row.recipient,
            "scheduled_at": row.scheduled_at,
            "sent_at": row.sent_at,
            "status": row.status,
            "subject": row.subject,
            "body": row.body,
        }
        for row in rows
    ]


def _preferences(client: Client) -> dict | None:
    preference = Preference.objects.filter(client=client).first()
    if preference is None:
        return None
    return {
        "channels": preference.channels,
        "marketing_opt_in": preference.marketing_opt_in,
        "service_opt_out": preference.service_opt_out,
    }


def _consent_journal(client: Client) -> list[dict]:
    changes = PreferenceChange.objects.filter(client=client).order_by("at", "pk")
    return [
        {
            "at": change.at,
            "what": change.what,
            "old_value": change.old_value,
            "new_value": change.new_value,
            "how": change.how,
            "by": "you" if change.by_id and change.by_id == client.user_id else change.how,
        }
        for change in changes
    ]


def _requests(client: Client) -> dict:
    return {
        "corrections": [
            {
                "at": correction.created_at,
                "message": correction.message,
                "resolved_at": correction.resolved_at,
                "note": correction.note,
            }
            for correction in ProfileCorrection.objects.filter(client=client).order_by("pk")
        ],
        "erasure": [
            {"at": erasure.created_at, "status": erasure.status}
            for erasure in ErasureRequest.objects.filter(client=client).order_by("pk")
        ],
    }


def client_data(client: Client, *, now: datetime) -> dict:
    """Everything the export's JSON holds, as plain values."""
    reports = published_reports(client)
    return {
        "generated_at": now,
        "profile": _profile(client),
        "patients": _patients(client),
        "reports": [
            {
                "patient": report.patient.name,
                "title": report.title,
                "date": report.date,
                "file": report_filename(report),
            }
            for report in reports
        ],
        "appointments": _appointments(client),
        "orders": _orders(client),
        "conversations": _conversations(client),
        "notifications": _notifications(client),
        "notification_preferences": _preferences(client),
        "consent_journal": _consent_journal(client),
        "requests": _requests(client),
    }


def _report_chunks(report: Report) -> Iterator[bytes]:
    with default_storage.open(report.file.name, "rb") as handle:
        keyring = keyring_from_settings()
        yield from decrypt_stream(keyring, report.wrapped_key, handle, aad=report.aad)


def build_zip(client: Client, *, now: datetime) -> bytes:
    """The zip, in memory: it is encrypted before anything reaches the disk.

    Memory grows with the client's reports (a few MB each); see docs/security.md, "The client's
    data rights".
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        data = client_data(client, now=now)
        archive.writestr(
            "data.json", json.dumps(data, default=_default, ensure_ascii=False, indent=2)
        )
        for report in published_reports(client):
            with archive.open(report_filename(report), "w") as member:
                for chunk in _report_chunks(report):
                    member.write(chunk)
    return buffer.getvalue()
