"""Separation of duties (#11): only vets write and publish medical records by default; the
manager changes what each role may do, and can never lock themselves out."""

import pytest
from django.urls import reverse
from django.utils import timezone

from booking.models import Appointment
from messaging.models import Conversation
from portal.access import duties_of, has_duty
from portal.models import AccessLog, Client, Duties, Duty, Role
from records.models import HistoryEntry, Report
from tests import factories
from tests.records.factories import make_report, prefixed

FR = {"accept-language": "fr"}


@pytest.fixture
def patient(client_user):
    return factories.make_patient(client_user)


def entry_data() -> dict:
    today = timezone.localdate().isoformat()
    return prefixed("entry", kind="consultation", date=today, title="Check-up", summary="Fine.")


def grant(manager_http, pairs: list[str]) -> None:
    """The manager saves the grid with exactly these boxes ticked."""
    response = manager_http.post(reverse("portal:duties"), {"grant": pairs})
    assert response.status_code == 302


def test_it_gives_each_role_its_documented_defaults(reception, vet, manager, client_user):
    assert duties_of(vet) == {"medical", "publish", "appointments", "clients", "messages", "orders"}
    assert duties_of(reception) == {"appointments", "clients", "messages", "orders"}
    assert duties_of(manager) == {"appointments", "clients", "messages", "orders", "settings"}
    assert duties_of(client_user) == frozenset()


def test_a_vet_writes_a_history_entry_and_reception_is_told_who_can_grant_it(
    as_vet, as_reception, manager, patient
):
    url = reverse("records:add_entry", args=[patient.pk])
    assert as_vet.post(url, entry_data()).status_code == 302
    refused = as_reception.post(url, entry_data())
    assert refused.status_code == 403
    page = refused.content.decode()
    assert "Medical records" in page
    assert "Duties page" in page
    assert manager.get_full_name() in page
    assert HistoryEntry.objects.count() == 1  # the vet's only
    refusal = AccessLog.objects.get(action=AccessLog.Action.DENIED, user=refused.wsgi_request.user)
    assert (refusal.object_type, refusal.object_id) == ("page", "records:add_entry")

    french = as_reception.post(url, entry_data(), headers=FR).content.decode()
    assert "Dossiers médicaux" in french
    assert "page Missions" in french


def test_the_manager_writes_no_medical_entry_nor_publishes_by_default(
    as_manager, vet, patient, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    report = make_report(patient, author=vet, published=False)
    assert (
        as_manager.post(reverse("records:add_entry", args=[patient.pk]), entry_data()).status_code
        == 403
    )
    assert as_manager.post(reverse("records:publish_report", args=[report.pk])).status_code == 403
    assert as_manager.post(reverse("records:delete_report", args=[report.pk])).status_code == 403
    report.refresh_from_db()
    assert report.status == Report.Status.DRAFT
    assert Report.objects.filter(pk=report.pk).exists()


def test_every_medical_write_is_refused_to_reception(as_reception, patient):
    for name in (
        "add_entry",
        "add_vaccination",
        "add_treatment",
        "add_weight",
        "upload_report",
        "write_report",
    ):
        response = as_reception.post(reverse(f"records:{name}", args=[patient.pk]), {})
        assert response.status_code == 403, name
    assert HistoryEntry.objects.count() == 0


def test_reading_a_record_stays_open_to_all_staff_without_the_write_forms(
    as_reception, as_vet, patient
):
    url = reverse("records:staff_patient", args=[patient.pk])
    reception_page = as_reception.get(url).content.decode()
    assert patient.name in reception_page
    assert reverse("records:add_entry", args=[patient.pk]) not in reception_page
    assert reverse("records:write_report", args=[patient.pk]) not in reception_page
    # Reception handles the client side: the animal's details and its owners.
    assert reverse("records:patient_edit", args=[patient.pk]) in reception_page
    vet_page = as_vet.get(url).content.decode()
    assert reverse("records:add_entry", args=[patient.pk]) in vet_page


def test_the_manager_grants_reception_medical_work_and_it_applies_at_once(
    as_manager, as_reception, patient
):
    page = as_manager.get(reverse("portal:duties")).content.decode()
    assert 'value="reception:medical"' in page
    reception_duties = ["reception:medical", "reception:appointments", "reception:clients"]
    vet_duties = ["vet:medical", "vet:publish", "vet:appointments", "vet:clients"]
    grant(as_manager, [*reception_duties, "reception:messages", *vet_duties, "manager:clients"])
    url = reverse("records:add_entry", args=[patient.pk])
    assert as_reception.post(url, entry_data()).status_code == 302
    assert HistoryEntry.objects.get().title == "Check-up"
    # Publishing was not granted.
    assert not has_duty(factories.make_staff(Role.RECEPTION), Duty.PUBLISH)


def test_the_manager_never_loses_the_settings_duty(as_manager, manager):
    grant(as_manager, [])  # every box unticked, the disabled "settings" one too
    assert Duties.objects.get(role=Role.MANAGER).duties == ["settings"]
    assert as_manager.get(reverse("portal:duties")).status_code == 200
    # Nobody else can be given it: whoever holds it could grant themselves anything.
    grant(as_manager, ["reception:settings", "vet:settings"])
    assert "settings" not in duties_of(factories.make_staff(Role.RECEPTION))
    assert "settings" not in duties_of(factories.make_staff(Role.VET))


def test_the_duties_page_is_the_managers_alone(as_reception, as_vet, as_client, client, manager):
    url = reverse("portal:duties")
    for http in (as_reception, as_vet):
        assert http.get(url).status_code == 403
        assert http.post(url, {"grant": ["reception:medical"]}).status_code == 403
    assert as_client.post(url, {"grant": ["reception:medical"]}).status_code == 403
    assert client.get(url).status_code == 302  # to the sign-in page
    assert not Duties.objects.exists()


def test_the_duties_page_shows_the_grid_in_french_and_english(as_manager):
    english = as_manager.get(reverse("portal:duties")).content.decode()
    assert "Medical records" in english
    assert "Publishing reports" in english
    assert "Save the duties" in english
    french = as_manager.get(reverse("portal:duties"), headers=FR).content.decode()
    assert "Enregistrer les missions" in french
    assert "Dossiers médicaux" in french


def test_bad_input_on_the_grid_is_ignored_not_stored(as_manager):
    grant(as_manager, ["client:medical", "reception:fly", "nonsense", "vet:medical"])
    table = Duties.table()
    assert table[Role.VET] == {"medical"}
    assert "client" not in set(Duties.objects.values_list("role", flat=True))


def test_reception_books_and_handles_clients_but_a_role_without_the_duty_cannot(
    as_manager, as_reception, client_user
):
    client_record = client_user.client
    assert as_reception.get(reverse("portal:client_new")).status_code == 200
    grant(as_manager, ["reception:messages", "manager:appointments", "manager:clients"])
    refused = as_reception.post(
        reverse("portal:client_new"), {"first_name": "Zoé", "last_name": "Nouvelle"}
    )
    assert refused.status_code == 403
    assert "Client records" in refused.content.decode()
    assert not Client.objects.filter(last_name="Nouvelle").exists()
    assert (
        as_reception.post(reverse("portal:client_invite", args=[client_record.pk])).status_code
        == 403
    )
    assert as_reception.get(reverse("booking:staff_book")).status_code == 403
    assert "Appointments" in as_reception.get(reverse("booking:staff_book")).content.decode()
    # Reading stays open: the client list and the agenda, without the buttons.
    clients_page = as_reception.get(reverse("portal:clients")).content.decode()
    assert reverse("portal:client_new") not in clients_page
    agenda = as_reception.get(reverse("booking:agenda")).content.decode()
    assert reverse("booking:staff_book") not in agenda
    assert Appointment.objects.count() == 0


def test_staff_without_the_messages_duty_read_but_do_not_answer(
    as_manager, as_reception, client_user
):
    conversation = Conversation.objects.create(client=client_user.client, subject="Filou")
    grant(as_manager, ["reception:appointments", "reception:clients"])
    page = as_reception.get(reverse("messaging:conversation", args=[conversation.pk]))
    assert page.status_code == 200
    assert reverse("messaging:send", args=[conversation.pk]) not in page.content.decode()
    sent = as_reception.post(
        reverse("messaging:send", args=[conversation.pk]), {"body": "Bonjour", "client_token": "t1"}
    )
    assert sent.status_code == 403
    assert "Messages" in sent.content.decode()
    assert as_reception.post(reverse("messaging:take", args=[conversation.pk])).status_code == 403
    conversation.refresh_from_db()
    assert conversation.messages.count() == 0
    assert conversation.assignee_id is None


def test_a_duty_needs_a_known_name():
    from portal.access import duty_required

    with pytest.raises(ValueError, match="Unknown duty"):
        duty_required("surgery")


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("clearable_access_log")
async def test_a_duty_withdrawn_stops_the_next_message_on_an_open_socket(reception, client_user):
    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.conf import settings

    from messaging.models import Message
    from portal.asgi import application
    from portal.duties import save_duties
    from tests.messaging.factories import make_conversation

    conversation = await sync_to_async(make_conversation)(client_user, subject="Filou", body="?")
    http = await sync_to_async(factories.verified_http_client)(reception)
    cookie = f"{settings.SESSION_COOKIE_NAME}={http.cookies[settings.SESSION_COOKIE_NAME].value}"
    comm = WebsocketCommunicator(
        application,
        f"/ws/conversations/{conversation.pk}/",
        [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1"), (b"cookie", cookie.encode())],
    )
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "hello", "last_seq": 0})
    await comm.receive_from(timeout=3)
    await comm.send_json_to({"type": "message", "body": "Bonjour", "client_token": "t1"})
    await comm.receive_from(timeout=3)
    assert await sync_to_async(Message.objects.count)() == 2  # the question and the answer
    await sync_to_async(save_duties)(granted={("reception", "appointments")}, by=None)
    await comm.send_json_to({"type": "message", "body": "Encore", "client_token": "t2"})
    while (output := await comm.receive_output(timeout=3))["type"] != "websocket.close":
        pass
    assert output["code"] == 4403
    assert await sync_to_async(Message.objects.count)() == 2


def test_the_waitlists_staff_writes_need_the_appointments_duty(as_manager, as_reception):
    grant(as_manager, ["reception:clients", "reception:messages"])
    assert as_reception.get(reverse("waitlist:staff")).status_code == 200  # reading stays open
    assert as_reception.get(reverse("waitlist:staff_offer")).status_code == 403
    assert as_reception.post(reverse("waitlist:staff_withdraw", args=[1])).status_code == 403
    assert as_reception.post(reverse("waitlist:staff_book", args=[1])).status_code == 403
