"""Every operation through HTTP: what a phone assistant reads and writes, and each refusal."""

from datetime import timedelta

import pytest

from api.models import Channel, Scope
from booking.models import Appointment, BookingRules, Service
from messaging.models import Conversation, Kind
from notifications.models import Notification
from tests import factories
from tests.api.conftest import DAY, NOW, Api, at, make_key
from tests.booking.factories import make_appointment
from waitlist.models import Entry

pytestmark = pytest.mark.django_db

NINE = "2026-06-01T09:00:00+02:00"


def _book(api, world, starts_at=NINE, **extra):
    body = {
        "client_id": world.client.pk,
        "patient_id": world.filou.pk,
        "service_id": world.consultation.pk,
        "starts_at": starts_at,
        **extra,
    }
    return api.post("/api/v1/appointments", body)


# --- clinic, services, slots ---------------------------------------------------------------------


def test_clinic_says_open_now_and_which_number_to_call(api, world):
    body = api.get("/api/v1/clinic").json()
    assert body["name"] == world.clinic.name
    assert body["open_now"] is True  # Friday 10:00, hours 9-12
    assert body["call_now"] == "+33478000000"
    assert body["call_now_is_emergency_line"] is False
    assert {"weekday": 4, "start": "09:00", "end": "12:00", "online": True} in body["hours"]


def test_clinic_closed_gives_the_next_opening_and_the_emergency_line(api, world, frozen):
    import time_machine

    with time_machine.travel(at(NOW.date(), 12, 30), tick=False):
        body = api.get("/api/v1/clinic").json()
    assert body["open_now"] is False
    assert body["next_opening"] == "2026-05-29T14:00:00+02:00"
    assert body["call_now"] == "+33478999999"
    assert body["call_now_is_emergency_line"] is True


def test_services_lists_what_the_keys_channel_may_book(world):
    phone_only = Service.objects.create(
        site=world.site, slug="surgery", name="Surgery", duration_minutes=60, online=False
    )
    phone_only.practitioners.set([world.dubois])
    _k, phone = make_key(world.manager, channel=Channel.PHONE)
    _k, online = make_key(world.manager, name="Partner", channel=Channel.ONLINE)
    by_phone = {s["slug"]: s for s in Api(phone).get("/api/v1/services").json()}
    assert set(by_phone) == {"consultation", "surgery"}
    assert {p["name"] for p in by_phone["consultation"]["practitioners"]} == {
        "Dr Dubois",
        "Dr Fontaine",
    }
    assert [s["slug"] for s in Api(online).get("/api/v1/services").json()] == ["consultation"]


def test_slots_of_a_day_skip_taken_times(api, world):
    make_appointment(
        client=world.client,
        patient=world.filou,
        service=world.consultation,
        practitioner=world.dubois,
        starts_at=at(DAY, 9),
    )
    body = api.get(
        "/api/v1/slots",
        {"service_id": world.consultation.pk, "day": DAY.isoformat()},
    ).json()
    first = body["slots"][0]
    assert first["start"] == NINE
    assert first["practitioner_ids"] == [world.fontaine.pk]  # Dubois is taken at 9:00
    only_dubois = api.get(
        "/api/v1/slots",
        {
            "service_id": world.consultation.pk,
            "day": DAY.isoformat(),
            "practitioner_id": world.dubois.pk,
        },
    ).json()
    assert only_dubois["slots"][0]["start"] == "2026-06-01T09:30:00+02:00"


def test_first_free_slot_follows_the_channels_rules(world):
    """An online key keeps the two-hour notice; a phone key books as reception (no notice)."""
    _k, phone = make_key(world.manager, channel=Channel.PHONE)
    _k, online = make_key(world.manager, name="Partner", channel=Channel.ONLINE)
    query = {"service_id": world.consultation.pk, "first": "true"}
    by_phone = Api(phone).get("/api/v1/slots", query).json()["slots"]
    by_web = Api(online).get("/api/v1/slots", query).json()["slots"]
    assert len(by_phone) == 1
    assert len(by_web) == 1
    assert by_phone[0]["start"] == "2026-05-29T10:00:00+02:00"
    # Two hours' notice reach noon, when the morning hours end: the afternoon's first slot.
    assert BookingRules.current().min_notice == timedelta(hours=2)
    assert by_web[0]["start"] == "2026-05-29T14:00:00+02:00"


def test_slots_refuse_a_range_too_long_or_reversed(api, world):
    for query in (
        {"from": "2026-06-01", "to": "2026-07-15"},
        {"from": "2026-06-10", "to": "2026-06-01"},
    ):
        response = api.get("/api/v1/slots", {"service_id": world.consultation.pk, **query})
        assert response.status_code == 422
        assert response.json()["type"] == "/api/docs#validation"


def test_slots_of_an_unknown_service_are_404(api, world):
    response = api.get("/api/v1/slots", {"service_id": 999999})
    assert response.status_code == 404


def test_slots_without_service_is_a_validation_problem(api, world):
    response = api.get("/api/v1/slots")
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "/api/docs#validation"
    assert body["errors"][0]["field"] == "service_id"


def test_slots_list_is_bounded_in_queries(api, world, django_assert_max_num_queries):
    query = {"service_id": world.consultation.pk, "from": "2026-06-01", "to": "2026-06-14"}
    api.get("/api/v1/slots", query)
    with django_assert_max_num_queries(16):
        assert api.get("/api/v1/slots", {**query, "to": "2026-06-13"}).status_code == 200


# --- clients -------------------------------------------------------------------------------------


def test_find_by_phone_returns_only_first_name_and_animals(api, world):
    body = api.get("/api/v1/clients/find", {"phone": "+33612345678"}).json()
    assert body == {
        "clients": [
            {
                "id": world.client.pk,
                "first_name": "Camille",
                "animals": [{"id": world.filou.pk, "name": "Filou"}],
            }
        ]
    }


def test_find_by_email_ignores_case_and_finds_nobody_else(api, world):
    factories.make_client(first_name="Bruno", last_name="Lambert", email="bruno@example.org")
    body = api.get("/api/v1/clients/find", {"email": world.client.email.upper()}).json()
    assert [c["first_name"] for c in body["clients"]] == ["Camille"]
    assert api.get("/api/v1/clients/find", {"email": "nobody@example.org"}).json() == {
        "clients": []
    }


@pytest.mark.parametrize("phone", ["0612345678", "+33 6 12 34 56 78", "+3361", "+33abc"])
def test_find_refuses_a_malformed_phone(api, world, phone):
    response = api.get("/api/v1/clients/find", {"phone": phone})
    assert response.status_code == 422
    assert response.json()["type"] == "/api/docs#bad-phone"


def test_find_needs_exactly_one_of_phone_and_email(api, world):
    assert api.get("/api/v1/clients/find").status_code == 422
    both = api.get("/api/v1/clients/find", {"phone": "+33612345678", "email": "a@b.fr"})
    assert both.status_code == 422


# --- booking -------------------------------------------------------------------------------------


def test_book_first_available_and_the_client_is_told(api, world):
    response = _book(api, world)
    assert response.status_code == 201, response.content
    body = response.json()
    appointment = Appointment.objects.get(pk=body["id"])
    assert appointment.client == world.client
    assert appointment.patient == world.filou
    assert body["starts_at"] == NINE
    assert body["status"] == "booked"
    assert appointment.channel == Appointment.Channel.STAFF  # a phone key books as reception
    assert "reason" not in body
    assert Notification.objects.for_subject("appointment", appointment.pk).exists()


def test_book_with_an_online_key_follows_the_online_rules(world):
    _k, token = make_key(world.manager, channel=Channel.ONLINE)
    too_soon = _book(Api(token), world, starts_at="2026-05-29T10:30:00+02:00")
    assert too_soon.status_code == 422
    assert "too soon" in too_soon.json()["detail"]
    ok = _book(Api(token), world)
    assert ok.status_code == 201
    assert Appointment.objects.get(pk=ok.json()["id"]).channel == Appointment.Channel.ONLINE


def test_book_in_the_past_or_outside_hours_is_refused_and_nothing_is_written(api, world):
    past = _book(api, world, starts_at="2026-05-28T09:00:00+02:00")
    assert past.status_code == 422
    assert past.json()["type"] == "/api/docs#booking-refused"
    assert "passed" in past.json()["detail"]
    night = _book(api, world, starts_at="2026-06-01T22:00:00+02:00")
    assert night.status_code == 422
    assert "not open" in night.json()["detail"]
    assert not Appointment.objects.exists()


def test_a_taken_slot_is_409_with_the_nearest_free_ones(api, world):
    other = factories.make_client_user(first_name="Bruno", last_name="Lambert")
    rex = factories.make_patient(other, name="Rex")
    for vet in (world.dubois, world.fontaine):
        make_appointment(
            client=other.client,
            patient=rex if vet == world.dubois else factories.make_patient(other, name="Max"),
            service=world.consultation,
            practitioner=vet,
            starts_at=at(DAY, 9),
        )
    response = _book(api, world)
    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "/api/docs#slot-taken"
    assert body["alternatives"]
    assert body["alternatives"][0]["start"] != NINE
    assert not world.client.appointments.exists()


def test_naive_times_are_refused(api, world):
    response = _book(api, world, starts_at="2026-06-01T09:00:00")
    assert response.status_code == 422
    assert not Appointment.objects.exists()


def test_someone_elses_animal_or_an_unknown_client_is_404(api, world):
    other = factories.make_client_user(first_name="Bruno", last_name="Lambert")
    rex = factories.make_patient(other, name="Rex")
    mismatch = _book(api, world, patient_id=rex.pk)
    assert mismatch.status_code == 404
    assert "Rex" not in mismatch.content.decode()
    assert _book(api, world, client_id=999999).status_code == 404
    assert not Appointment.objects.exists()


def test_status_move_confirm_and_cancel(api, world):
    booked = _book(api, world).json()
    path = f"/api/v1/appointments/{booked['id']}"
    assert api.get(path).json()["status"] == "booked"

    moved = api.post(f"{path}/move", {"starts_at": "2026-06-01T10:00:00+02:00"})
    assert moved.status_code == 200, moved.content
    assert moved.json()["starts_at"] == "2026-06-01T10:00:00+02:00"
    assert moved.json()["version"] == 2

    stale = api.post(f"{path}/move", {"starts_at": "2026-06-01T11:00:00+02:00", "version": 1})
    assert stale.status_code == 409
    assert stale.json()["type"] == "/api/docs#stale"
    assert stale.json()["appointment"]["version"] == 2

    confirmed = api.post(f"{path}/confirm", {})
    assert confirmed.status_code == 200
    assert confirmed.json()["confirmed"] is True
    # The agenda says how it came: "Confirmé (API)", not as if the client had tapped a link.
    assert Appointment.objects.get(pk=booked["id"]).confirmed_via == "api"
    assert api.post(f"{path}/confirm", {}).json()["confirmed"] is True

    cancelled = api.post(f"{path}/cancel", {})
    assert cancelled.json()["status"] == "cancelled"
    again = api.post(f"{path}/cancel", {})
    assert again.status_code == 409
    assert again.json()["type"] == "/api/docs#already-done"
    late_confirm = api.post(f"{path}/confirm", {})
    assert late_confirm.status_code == 409
    appointment = Appointment.objects.get(pk=booked["id"])
    assert appointment.status == Appointment.Status.CANCELLED


def test_unknown_appointment_is_404_everywhere(api, world):
    for method, path in (
        ("get", "/api/v1/appointments/999999"),
        ("post", "/api/v1/appointments/999999/move"),
        ("post", "/api/v1/appointments/999999/cancel"),
        ("post", "/api/v1/appointments/999999/confirm"),
    ):
        body = {"starts_at": NINE} if path.endswith("move") else {}
        response = getattr(api, method)(path, body) if method == "post" else api.get(path)
        assert response.status_code == 404, path
        assert response.json()["type"] == "/api/docs#not-found"


def test_an_online_key_cannot_cancel_after_the_cut_off(world):
    _k, token = make_key(world.manager, channel=Channel.ONLINE)
    appointment = make_appointment(
        client=world.client,
        patient=world.filou,
        service=world.consultation,
        practitioner=world.dubois,
        starts_at=NOW + timedelta(hours=3),
    )
    response = Api(token).post(f"/api/v1/appointments/{appointment.pk}/cancel", {})
    assert response.status_code == 422
    assert "too late" in response.json()["detail"]
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED


# --- messages and waitlist -----------------------------------------------------------------------


def test_a_message_reaches_the_clinic(api, world):
    response = api.post(
        "/api/v1/messages",
        {"client_id": world.client.pk, "subject": "Vaccin", "body": "Rappel de vaccin à prévoir."},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["urgent"] is False
    assert body["transfer_to_person"] is False
    conversation = Conversation.objects.get(pk=body["conversation_id"])
    assert conversation.client == world.client
    assert not conversation.urgent


def test_emergency_words_say_transfer_to_a_person_with_the_number(api, world):
    response = api.post(
        "/api/v1/messages",
        {
            "client_id": world.client.pk,
            "patient_id": world.filou.pk,
            "subject": "Filou",
            "body": "Mon chien a été renversé par une voiture, il saigne beaucoup",
        },
    )
    body = response.json()
    assert body["urgent"] is True
    assert body["transfer_to_person"] is True
    assert body["call_now"] == "+33478000000"
    assert "04 78 00 00 00" in body["say"]
    conversation = Conversation.objects.get(pk=body["conversation_id"])
    assert conversation.urgent
    assert conversation.messages.filter(kind=Kind.EMERGENCY).exists()


def test_a_message_for_a_client_without_account_says_transfer(api, world):
    walk_in = factories.make_client(first_name="Denise", last_name="Roux")
    response = api.post(
        "/api/v1/messages",
        {"client_id": walk_in.pk, "subject": "Chat", "body": "Il ne respire plus"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "/api/docs#no-account"
    assert body["transfer_to_person"] is True
    assert body["urgent"] is True
    assert not Conversation.objects.exists()


def test_an_empty_message_is_refused(api, world):
    response = api.post(
        "/api/v1/messages", {"client_id": world.client.pk, "subject": "x", "body": " "}
    )
    assert response.status_code == 422
    assert not Conversation.objects.exists()


def test_waitlist_join_and_refusal(api, world):
    body = {
        "client_id": world.client.pk,
        "patient_id": world.filou.pk,
        "service_id": world.consultation.pk,
        "earliest": "2026-06-01",
        "latest": "2026-06-05",
    }
    response = api.post("/api/v1/waitlist", body)
    assert response.status_code == 201, response.content
    entry = Entry.objects.get(pk=response.json()["entry_id"])
    assert entry.patient == world.filou
    assert entry.status == Entry.Status.WAITING
    reversed_ = api.post("/api/v1/waitlist", {**body, "earliest": "2026-06-09"})
    assert reversed_.status_code == 422
    assert reversed_.json()["type"] == "/api/docs#waitlist-refused"
    assert Entry.objects.count() == 1


def test_messages_need_their_scope(world):
    _k, token = make_key(world.manager, scopes=[Scope.BOOK])
    response = Api(token).post(
        "/api/v1/messages", {"client_id": world.client.pk, "subject": "x", "body": "Bonjour"}
    )
    assert response.status_code == 403
    assert not Conversation.objects.exists()
