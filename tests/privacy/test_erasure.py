"""Erasure: the client asks (with their password), a manager confirms, personal data goes,
medical records and countable statistics stay."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from booking.models import Appointment
from messaging.models import Attachment, Message
from notifications.models import Channel, Kind, Notification, Preference, PreferenceChange, Status
from portal.models import Client, User
from privacy import services
from privacy.models import ErasureRequest
from records.models import HistoryEntry, Patient, Report
from tests import factories
from tests.booking.factories import make_appointment, make_practitioner, make_service
from tests.factories import PASSWORD
from tests.messaging.factories import make_conversation
from tests.records.factories import make_entry, make_report

pytestmark = pytest.mark.django_db

# Every field of a client record, and what erasure does with it. A new field on Client makes
# this test fail until erase_client handles it and it is listed here.
CLIENT_FIELDS = {
    "id": "kept: the row stays so appointments and medical records keep their owner",
    "user": "kept: the account is closed (inactive, no password, placeholder e-mail)",
    "first_name": "replaced: 'Client supprimé'",
    "last_name": "replaced: '#<id>'",
    "email": "erased",
    "phone": "erased",
    "address": "erased",
    "usual_site": "kept: the clinic's own site, for statistics",
    "preferred_language": "kept: not identifying; the language of the clinic's records",
    "created_at": "kept: for statistics",
}
USER_FIELDS = {
    "id": "kept (the access log refers to it)",
    "password": "made unusable",
    "last_login": "kept (security trace)",
    "is_superuser": "kept (false for a client)",
    "email": "replaced: erased-<id>@invalid",
    "first_name": "erased",
    "last_name": "erased",
    "role": "kept",
    "is_active": "set false",
    "is_staff": "kept (false for a client)",
    "date_joined": "kept (statistics)",
}


def test_every_client_and_user_field_is_handled_by_erasure():
    client_fields = {field.name for field in Client._meta.concrete_fields}
    user_fields = {field.name for field in User._meta.concrete_fields}
    assert client_fields == set(CLIENT_FIELDS), "a new Client field: handle it in erase_client"
    assert user_fields == set(USER_FIELDS), "a new User field: handle it in close_account"


@pytest.fixture
def world(client_user, filou, vet, site):
    """Camille with a dog, its history and report, appointments, messages, notifications."""
    client = client_user.client
    client.phone, client.address = "+33612345678", "3 rue des Lilas, Lyon"
    client.save()
    make_entry(filou, title="Annual visit")
    make_report(filou, vet, title="Blood test")
    dubois = make_practitioner(site, name="Dr Dubois", user=vet)
    consultation = make_service(site, [dubois])
    now = timezone.now()
    past = make_appointment(
        client=client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=now - timedelta(days=30),
        reason="He limps",
        status="attended",
    )
    upcoming = make_appointment(
        client=client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=now + timedelta(days=10),
        reason="Vaccine",
    )
    conversation = make_conversation(
        client_user, subject="Limping", body="Camille here, Filou limps"
    )
    message = conversation.messages.get(kind="client")
    stored = default_storage.save("messaging/test.pdf.enc", ContentFile(b"ciphertext"))
    Attachment.objects.create(
        message=message,
        name="x-ray.pdf",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        wrapped_key="k",
        file=stored,
    )
    scheduled = Notification.objects.create(
        client=client,
        channel=Channel.SMS,
        kind=Kind.APPOINTMENT_REMINDER,
        recipient=client.phone,
        body="Reminder: Filou tomorrow",
        scheduled_at=now + timedelta(days=9),
        idempotency_key="test:reminder",
    )
    sent = Notification.objects.create(
        client=client,
        channel=Channel.EMAIL,
        kind=Kind.APPOINTMENT_CONFIRMED,
        recipient=client.email,
        body="Camille, confirmed",
        scheduled_at=now,
        status=Status.SENT,
        idempotency_key="test:sent",
    )
    Preference.objects.create(client=client, marketing_opt_in=True)
    PreferenceChange.objects.create(
        client=client,
        by=client_user,
        how="client_page",
        what="marketing_opt_in",
        old_value="no",
        new_value="yes",
    )
    return {
        "past": past,
        "upcoming": upcoming,
        "message": message,
        "stored": stored,
        "scheduled": scheduled,
        "sent": sent,
    }


def test_asking_needs_the_password_and_says_what_is_kept(as_client, client_user):
    page = as_client.get(reverse("privacy:erasure")).content.decode()
    assert "What is kept, and why" in page
    assert "kept for 5 years" in page

    wrong = as_client.post(reverse("privacy:erasure"), {"password": "nope", "understood": "on"})

    assert wrong.status_code == 400
    assert "This is not your password." in wrong.content.decode()
    assert not ErasureRequest.objects.exists()


def test_asking_twice_gives_a_clear_message_and_one_request(as_client, client_user):
    data = {"password": PASSWORD, "understood": "on"}
    first = as_client.post(reverse("privacy:erasure"), data, follow=True)
    second = as_client.post(reverse("privacy:erasure"), data, follow=True)

    assert "Your request is sent" in first.content.decode()
    assert "already asked to close your account" in second.content.decode()
    assert ErasureRequest.objects.filter(client=client_user.client).count() == 1
    with pytest.raises(services.PrivacyError):
        services.request_erasure(client=client_user.client)


def test_staff_see_the_request_and_a_manager_confirms_it(
    as_client, client_user, world, as_manager, manager, filou, django_capture_on_commit_callbacks
):
    as_client.post(reverse("privacy:erasure"), {"password": PASSWORD, "understood": "on"})
    erasure = ErasureRequest.objects.get()
    listing = as_manager.get(reverse("privacy:requests")).content.decode()
    assert "Camille Martin" in listing
    assert "Confirm the erasure" in listing

    with django_capture_on_commit_callbacks(execute=True):
        response = as_manager.post(
            reverse("privacy:confirm_erasure", args=[erasure.pk]), {"confirm": "yes"}, follow=True
        )

    assert "personal data is erased" in response.content.decode()
    client = Client.objects.get(pk=client_user.client.pk)
    user = User.objects.get(pk=client_user.pk)
    assert (client.first_name, client.last_name) == ("Client supprimé", f"#{client.pk}")
    assert (client.email, client.phone, client.address) == ("", "", "")
    assert not user.is_active
    assert not user.has_usable_password()
    assert user.email == f"erased-{user.pk}@invalid"
    assert (user.first_name, user.last_name) == ("", "")
    # Signed out everywhere: the client's session is gone and the next page asks to sign in.
    assert as_client.get(reverse("privacy:home")).status_code == 302
    assert not any(
        str(s.get_decoded().get("_auth_user_id")) == str(user.pk) for s in Session.objects.all()
    )
    # Medical records kept.
    assert Patient.objects.filter(pk=filou.pk).exists()
    assert HistoryEntry.objects.filter(patient=filou).count() == 1
    assert Report.objects.filter(patient=filou).count() == 1
    # Appointments kept, anonymised; the upcoming one cancelled through booking.
    past, upcoming = (Appointment.objects.get(pk=world[k].pk) for k in ("past", "upcoming"))
    assert past.status == "attended"
    assert past.reason == ""
    assert upcoming.status == Appointment.Status.CANCELLED
    assert upcoming.cancelled_by_clinic
    assert Appointment.objects.filter(client=client).count() == 2
    # Notifications: pending cancelled, sent ones without words or address; preferences gone.
    scheduled, sent = (Notification.objects.get(pk=world[k].pk) for k in ("scheduled", "sent"))
    assert scheduled.status == Status.CANCELLED
    assert (sent.status, sent.recipient, sent.body) == (Status.SENT, "", "")
    assert not Notification.objects.filter(client=client, status=Status.SCHEDULED).exists()
    assert not Preference.objects.filter(client=client).exists()
    assert PreferenceChange.objects.filter(client=client).count() == 1  # proof of consent
    # Messages replaced, attachments deleted with their files.
    assert Message.objects.get(pk=world["message"].pk).body == "—"
    assert not Attachment.objects.exists()
    assert not default_storage.exists(world["stored"])
    erasure.refresh_from_db()
    assert erasure.status == ErasureRequest.Status.DONE
    assert erasure.confirmed_by == manager
    assert "Deleted client #" in as_manager.get(reverse("privacy:requests")).content.decode()


def test_confirming_twice_is_refused_with_a_clear_message(as_manager, client_user):
    erasure = services.request_erasure(client=client_user.client)
    as_manager.post(reverse("privacy:confirm_erasure", args=[erasure.pk]), {"confirm": "yes"})
    confirmed_at = ErasureRequest.objects.get().confirmed_at

    again = as_manager.post(
        reverse("privacy:confirm_erasure", args=[erasure.pk]), {"confirm": "yes"}, follow=True
    )

    assert "already confirmed" in again.content.decode()
    assert ErasureRequest.objects.get().confirmed_at == confirmed_at


def test_without_the_tick_nothing_is_erased(as_manager, client_user):
    erasure = services.request_erasure(client=client_user.client)

    response = as_manager.post(reverse("privacy:confirm_erasure", args=[erasure.pk]), follow=True)

    assert "Tick the box" in response.content.decode()
    assert User.objects.get(pk=client_user.pk).is_active
    assert ErasureRequest.objects.get().status == ErasureRequest.Status.PENDING


def test_only_a_manager_confirms_and_clients_never_see_the_requests(
    as_reception, as_client, as_other_client, client_user
):
    erasure = services.request_erasure(client=client_user.client)
    url = reverse("privacy:confirm_erasure", args=[erasure.pk])

    assert as_reception.get(reverse("privacy:requests")).status_code == 200
    assert (
        "Confirm the erasure" not in as_reception.get(reverse("privacy:requests")).content.decode()
    )
    assert as_reception.post(url, {"confirm": "yes"}).status_code == 403
    for http in (as_client, as_other_client):
        assert http.get(reverse("privacy:requests")).status_code == 403
        assert http.post(url, {"confirm": "yes"}).status_code == 403
    assert User.objects.get(pk=client_user.pk).is_active


def test_an_unknown_request_is_404(as_manager):
    assert (
        as_manager.post(
            reverse("privacy:confirm_erasure", args=[999]), {"confirm": "yes"}
        ).status_code
        == 404
    )


def test_the_erased_client_can_no_longer_sign_in(client_user, client):
    erasure = services.request_erasure(client=client_user.client)
    email = client_user.email
    services.confirm_erasure(erasure=erasure, by=factories.make_staff("manager"))

    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})

    assert response.status_code == 200  # the form again, not a redirect into the portal
    assert "_auth_user_id" not in client.session


def test_guessing_the_password_hits_the_sign_in_rate_limit(as_client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "3/m/ip"}
    for _attempt in range(3):
        as_client.post(reverse("privacy:erasure"), {"password": "guess", "understood": "on"})

    right = as_client.post(reverse("privacy:erasure"), {"password": PASSWORD, "understood": "on"})

    assert right.status_code == 400
    assert "Too many failed login attempts" in right.content.decode()
    assert not ErasureRequest.objects.exists()


def test_the_erased_name_is_shown_in_the_readers_language(as_manager, client_user, manager):
    correction = services.request_correction(client=client_user.client, message="Typo")
    services.resolve_correction(correction=correction, by=manager, note="")
    services.confirm_erasure(
        erasure=services.request_erasure(client=client_user.client), by=manager
    )
    pk = client_user.client.pk

    english = as_manager.get(reverse("privacy:requests")).content.decode()
    french = as_manager.get(reverse("privacy:requests"), headers={"accept-language": "fr"})

    assert f"Deleted client #{pk} ·" in english
    assert "Client supprimé" not in english
    assert f"Client supprimé #{pk}" in french.content.decode()
