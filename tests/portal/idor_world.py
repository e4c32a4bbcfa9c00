"""The demo clinic plus a stranger, and the objects the IDOR matrix aims at.

`build()` seeds the demo clinic (the richest data there is: appointments, reports,
conversations, waitlist entries...), picks one demo client as the owner, adds the few objects
the demo does not seed, and creates "Zoé Étrangère", a client with an animal of her own and no
link to anyone else's. Each entry of `World.objects` is what a route needs in its URL, and the
client whose data it shows.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from io import StringIO

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from booking.models import Appointment, CalendarFeed, Closure, Practitioner, Service, TimeOff
from household import services as household
from messaging.models import Attachment, Conversation, QuickReply
from messaging.services import post_message
from notifications.messages import TEMPLATED_KINDS
from notifications.models import Campaign, Notification
from orders import services as orders
from orders.models import Product
from portal.models import Client, Invitation, Role, Site, User
from privacy import services as privacy
from records.models import CorrectionRequest, Guardianship, Patient, Report, Treatment
from tests import factories
from tests.waitlist.factories import make_entry as make_waitlist_entry
from waitlist.models import Entry, Release


@dataclass
class Target:
    kwargs: dict
    owner: Client | None = None


@dataclass
class World:
    owner: Client
    stranger: Client
    users: dict[str, User]
    objects: dict[str, Target] = field(default_factory=dict)
    # What must never appear in a page served to someone else: the owner's names, their animals'.
    secrets: list[str] = field(default_factory=list)


def _first(queryset, what: str):
    found = queryset.first()
    if found is None:
        raise AssertionError(f"the demo clinic has no {what}: the IDOR matrix needs one")
    return found


def build() -> World:
    call_command("seed_demo", stdout=StringIO())
    # The owner: the demo client with the most kinds of data (appointments and a published report).
    published = _first(
        Report.objects.filter(published_at__isnull=False).select_related("patient"),
        "published report",
    )
    owner = _first(Client.objects.filter(guardianships__patient=published.patient), "report owner")
    patient = published.patient
    stranger_user = factories.make_client_user(
        first_name="Zoé", last_name="Étrangère", email="zoe.etrangere@example.com"
    )
    stranger = stranger_user.client
    factories.make_patient(stranger, name="Zéphyr")

    users = {
        "owner": owner.user,
        "stranger": stranger_user,
        "vet": _first(User.objects.filter(role=Role.VET, is_active=True), "vet"),
        "reception": _first(User.objects.filter(role=Role.RECEPTION, is_active=True), "reception"),
        "manager": _first(User.objects.filter(role=Role.MANAGER, is_active=True), "manager"),
    }
    world = World(owner=owner, stranger=stranger, users=users)
    world.secrets = [
        owner.user.last_name,
        *Patient.objects.of_client(owner).values_list("name", flat=True),
    ]

    now = timezone.now()
    # An upcoming one, so that the owner may still move it.
    appointment = _first(
        Appointment.objects.filter(client=owner, starts_at__gt=now).order_by("starts_at"),
        "upcoming appointment of the owner",
    )
    conversation = Conversation.objects.filter(client=owner).first()
    if conversation is None:
        from tests.messaging.factories import make_conversation

        conversation = make_conversation(owner.user, subject="Toux", body="Il tousse.")
    attachment = Attachment.objects.filter(message__conversation__client=owner).first()
    if attachment is None:
        upload = SimpleUploadedFile("radio.pdf", b"%PDF-1.4 radio", content_type="application/pdf")
        post_message(
            conversation_id=conversation.pk, author=owner.user, body="La radio.", uploads=[upload]
        )
        attachment = Attachment.objects.get(message__conversation=conversation)
    correction = CorrectionRequest.objects.filter(patient=patient).first() or (
        CorrectionRequest.objects.create(patient=patient, client=owner, message="Né en 2019")
    )
    entry = Entry.objects.filter(client=owner).first() or make_waitlist_entry(
        owner, patient, _first(Service.objects.all(), "service"), earliest=timezone.localdate()
    )
    notification = _first(Notification.objects.filter(client=owner), "notification of the owner")
    practitioner = _first(Practitioner.objects.filter(user=users["vet"]), "vet's practitioner")
    closure = _first(Closure.objects.all(), "closure")
    timeoff = TimeOff.objects.first() or TimeOff.objects.create(
        practitioner=practitioner,
        start=timezone.now() + timedelta(days=3),
        end=timezone.now() + timedelta(days=3, hours=2),
    )
    release = Release.objects.first()
    campaign = Campaign.objects.first()
    quick_reply = QuickReply.objects.first()
    _feed, feed_token = CalendarFeed.issue(practitioner)
    _invitation, invitation_token = Invitation.issue(
        email=owner.user.email, role=Role.CLIENT, invited_by=users["reception"], client=owner
    )

    objects = {
        "appointment": Target({"pk": appointment.pk}, owner),
        "patient": Target({"pk": patient.pk}, owner),
        "report": Target({"pk": published.pk}, owner),
        "correction": Target({"pk": correction.pk}, owner),
        "conversation": Target({"pk": conversation.pk}, owner),
        "attachment": Target({"pk": attachment.pk}, owner),
        "waitlist_entry": Target({"pk": entry.pk}, owner),
        "client": Target({"pk": owner.pk}, owner),
        "notification": Target({"pk": notification.pk}, owner),
        "service": Target({"pk": _first(Service.objects.all(), "service").pk}),
        "closure": Target({"kind": "closure", "pk": closure.pk}),
        "timeoff": Target({"kind": "timeoff", "pk": timeoff.pk}),
        "template": Target({"kind": TEMPLATED_KINDS[0], "channel": "email", "language": "fr"}),
        "feed": Target({"token": feed_token}),
        "invitation": Target({"token": invitation_token}, owner),
    }
    if release is not None:
        objects["release"] = Target({"pk": release.pk})
    if campaign is not None:
        objects["campaign"] = Target({"pk": campaign.pk})
    if quick_reply is not None:
        objects["quick_reply"] = Target({"pk": quick_reply.pk})
    # The client's data rights: an export of the owner's; a correction and an erasure request
    # of another demo client (the owner's account must stay open for the other checks).
    other = _first(Client.objects.exclude(pk=owner.pk).filter(user__isnull=False), "other client")
    export = privacy.request_export(client=owner, by=owner.user)
    objects["data_export"] = Target({"pk": export.pk}, owner)
    correction = privacy.request_correction(client=other, message="Mon adresse a changé")
    objects["profile_correction"] = Target({"pk": correction.pk}, other)
    objects["erasure"] = Target({"pk": privacy.request_erasure(client=other).pk}, other)
    # Orders: a renewal of the owner's treatment, with a prescription file attached.
    treatment = _first(
        Treatment.objects.filter(entry__patient=patient, antiparasitic=False), "owner's treatment"
    )
    upload = SimpleUploadedFile("ordonnance.pdf", b"%PDF-1.4 ordonnance")
    order = orders.request_renewal(
        client=owner,
        treatment=treatment,
        site=_first(Site.objects.all(), "site"),
        prescription=orders.prepare_prescription(upload),
        by=owner.user,
    )
    objects["order"] = Target({"pk": order.pk}, owner)
    objects["treatment"] = Target({"pk": treatment.entry_id}, owner)
    objects["product"] = Target({"pk": _first(Product.objects.all(), "catalogue item").pk})
    # Onboarding: a service newcomers may book online.
    online = _first(Service.objects.filter(online=True, new_clients_allowed=True), "online service")
    objects["online_service"] = Target({"slug": online.slug})
    # Household: the owner's animal shared with a pet-sitter (demo), the owner's own link, an
    # invitation the owner sent and that waits.
    shared = _first(
        Guardianship.objects.filter(patient__guardianships__client=owner).exclude(client=owner),
        "link shared by the owner",
    )
    own = _first(Guardianship.objects.filter(client=owner), "owner's own link")
    invitation, _token = household.invite(
        inviter=owner,
        by=owner.user,
        email="invitee@example.com",
        role=Guardianship.Role.CO_OWNER,
        patients=[patient],
    )
    objects["shared_link"] = Target({"pk": shared.pk}, owner)
    objects["own_link"] = Target({"pk": own.pk}, owner)
    objects["household_invitation"] = Target({"pk": invitation.pk}, owner)
    objects["household_join"] = Target({"token": "not-a-real-invitation-token"})
    world.objects = objects
    return world
