import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from messaging import services, views
from messaging.models import Attachment, Conversation, Kind, QuickReply, Status
from portal.models import AccessLog
from tests import factories
from tests.messaging.factories import make_conversation

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _page(conversation) -> str:
    return reverse("messaging:conversation", args=[conversation.pk])


def test_it_lets_a_client_write_to_the_clinic_about_their_animal(as_client, client_user):
    filou = factories.make_patient(client_user)
    response = as_client.post(
        reverse("messaging:conversations"),
        {"subject": "Vaccin", "patient": filou.pk, "body": "Quand ?", "client_token": "a1"},
    )
    conversation = Conversation.objects.get()
    assert response.status_code == 302
    assert response.url == _page(conversation)
    assert conversation.patient == filou
    assert conversation.messages.get().body == "Quand ?"


def test_it_refuses_a_patient_of_another_client_as_a_field_error(as_client, other_client_user):
    rex = factories.make_patient(other_client_user, name="Rex")
    response = as_client.post(
        reverse("messaging:conversations"), {"subject": "x", "patient": rex.pk, "body": "y"}
    )
    assert response.status_code == 200
    assert "patient" in response.context["form"].errors
    assert not Conversation.objects.exists()


def test_it_shows_a_conversation_to_its_client_and_logs_the_read(as_client, conversation):
    response = as_client.get(_page(conversation))
    assert response.status_code == 200
    assert "Il tousse depuis hier." in response.text
    assert 'ws-connect="/ws/conversations/' in response.text
    assert AccessLog.objects.filter(
        action=AccessLog.Action.VIEW, object_type="conversation", object_id=str(conversation.pk)
    ).exists()


def test_it_gives_the_stranger_a_404_and_logs_it(as_other_client, conversation):
    for url in (
        _page(conversation),
        reverse("messaging:send", args=[conversation.pk]),
    ):
        response = (
            as_other_client.get(url)
            if url == _page(conversation)
            else as_other_client.post(url, {"body": "x"})
        )
        assert response.status_code == 404
    assert AccessLog.objects.filter(action=AccessLog.Action.DENIED).count() == 2
    assert conversation.messages.count() == 1


def test_it_gives_404_for_an_unknown_conversation(as_client):
    assert as_client.get(reverse("messaging:conversation", args=[999])).status_code == 404


def test_the_plain_form_sends_without_javascript_and_never_twice(as_client, conversation):
    url = reverse("messaging:send", args=[conversation.pk])
    data = {"body": "Merci <script>alert(1)</script>", "client_token": "tok-1"}
    first = as_client.post(url, data)
    second = as_client.post(url, data)  # the same form submitted again
    assert first.status_code == second.status_code == 302
    assert conversation.messages.count() == 2
    page = as_client.get(_page(conversation)).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_empty_message_is_a_field_error(as_client, conversation):
    response = as_client.post(reverse("messaging:send", args=[conversation.pk]), {"body": " "})
    assert response.status_code == 400
    assert "Write a message" in response.text
    assert conversation.messages.count() == 1


def test_it_stores_photos_encrypted_and_serves_them_only_to_the_conversation(
    as_client, as_other_client, as_vet, conversation, settings
):
    upload = SimpleUploadedFile("filou.png", PNG, content_type="image/png")
    response = as_client.post(
        reverse("messaging:send", args=[conversation.pk]), {"body": "", "attachment": upload}
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/png"
    on_disk = (settings.MEDIA_ROOT / attachment.file.name).read_bytes()
    assert PNG not in on_disk
    url = reverse("messaging:attachment", args=[attachment.pk])
    for reader in (as_client, as_vet):
        served = reader.get(url)
        assert served.status_code == 200
        assert b"".join(served.streaming_content) == PNG
    assert as_other_client.get(url).status_code == 404
    assert AccessLog.objects.filter(action=AccessLog.Action.DOWNLOAD).count() == 2


def test_it_refuses_a_disguised_file(as_client, conversation):
    fake = SimpleUploadedFile("photo.jpg", b"#!/bin/sh\nrm -rf /\n", content_type="image/jpeg")
    response = as_client.post(
        reverse("messaging:send", args=[conversation.pk]), {"body": "voici", "attachment": fake}
    )
    assert response.status_code == 400
    assert "Only photos" in response.text
    assert conversation.messages.count() == 1
    assert not Attachment.objects.exists()


def test_it_refuses_a_file_over_the_limit(as_client, conversation, settings):
    settings.ACCUEIL_MESSAGING_MAX_ATTACHMENT = 1024
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * 2048, content_type="image/png")
    response = as_client.post(
        reverse("messaging:send", args=[conversation.pk]), {"body": "", "attachment": big}
    )
    assert response.status_code == 400
    assert "too large" in response.text
    assert not Attachment.objects.exists()


def test_the_inbox_is_for_staff_only(as_client, as_reception):
    assert as_client.get(reverse("messaging:inbox")).status_code == 403
    assert as_reception.get(reverse("messaging:inbox")).status_code == 200


def test_the_inbox_puts_urgent_first_and_filters(as_vet, vet, client_user, other_client_user):
    calm = make_conversation(client_user, subject="Calme", body="Un vaccin ?")
    urgent = make_conversation(other_client_user, subject="Vite", body="Il a des convulsions")
    services.assign(conversation=calm, assignee=vet)
    page = as_vet.get(reverse("messaging:inbox")).text
    assert page.index("Vite") < page.index("Calme")
    only = {
        "urgent": ["Vite"],
        "unassigned": ["Vite"],
        "mine": ["Calme"],
        "waiting": ["Vite", "Calme"],
    }
    for key, subjects in only.items():
        context = as_vet.get(reverse("messaging:inbox"), {"filter": key}).context
        assert [c.subject for c in context["conversations"]] == subjects, key
    assert Conversation.objects.get(pk=urgent.pk).urgent


def test_the_inbox_queries_are_bounded(as_vet, client_user, django_assert_max_num_queries):
    for index in range(15):
        make_conversation(client_user, subject=f"Sujet {index}")
    with django_assert_max_num_queries(16):
        response = as_vet.get(reverse("messaging:inbox"))
    assert len(response.context["conversations"]) == 15


def test_the_conversation_page_queries_are_bounded(
    as_vet, vet, conversation, django_assert_max_num_queries
):
    for index in range(20):
        services.post_message(conversation_id=conversation.pk, author=vet, body=f"r{index}")
    with django_assert_max_num_queries(22):
        response = as_vet.get(_page(conversation))
    assert len(response.context["thread"]) == 21


def test_staff_assign_close_and_reopen(as_vet, vet, reception, conversation):
    as_vet.post(reverse("messaging:assign", args=[conversation.pk]), {"assignee": reception.pk})
    conversation.refresh_from_db()
    assert conversation.assignee == reception
    as_vet.post(reverse("messaging:take", args=[conversation.pk]))
    as_vet.post(reverse("messaging:status", args=[conversation.pk]), {"action": "close"})
    conversation.refresh_from_db()
    assert (conversation.assignee, conversation.status) == (vet, Status.CLOSED)
    as_vet.post(reverse("messaging:status", args=[conversation.pk]), {"action": "reopen"})
    conversation.refresh_from_db()
    assert conversation.status == Status.WAITING_CLINIC


def test_clients_cannot_use_staff_actions(as_client, conversation, vet):
    for name, data in (
        ("messaging:assign", {"assignee": vet.pk}),
        ("messaging:take", {}),
        ("messaging:status", {"action": "close"}),
    ):
        assert as_client.post(reverse(name, args=[conversation.pk]), data).status_code == 403
    conversation.refresh_from_db()
    assert conversation.assignee is None
    assert conversation.status == Status.WAITING_CLINIC


def test_managers_edit_quick_replies_and_staff_see_them(as_manager, as_reception, conversation):
    url = reverse("messaging:quick_replies")
    assert as_reception.get(url).status_code == 403
    as_manager.post(url, {"title": "Merci", "body": "Merci, à bientôt.", "position": 1})
    reply = QuickReply.objects.get()
    page = as_reception.get(_page(conversation)).text
    assert "Merci, à bientôt." in page
    as_manager.post(reverse("messaging:quick_reply_edit", args=[reply.pk]), {"delete": "1"})
    assert not QuickReply.objects.exists()


def test_the_appointment_link_names_client_and_patient(client_user, monkeypatch):
    filou = factories.make_patient(client_user)
    conversation = make_conversation(client_user, patient=filou)
    monkeypatch.setattr(views, "reverse", lambda name: "/booking/staff/new/")
    assert views._appointment_url(conversation) == (
        f"/booking/staff/new/?client={conversation.client_id}&patient={filou.pk}"
    )


def test_the_dashboards_show_unread_counts(as_client, as_vet, conversation, vet):
    assert "Unread conversations: 1" in as_vet.get("/").text
    services.post_message(conversation_id=conversation.pk, author=vet, body="Réponse")
    assert "Conversations with a new reply: 1" in as_client.get("/").text
    as_client.get(_page(conversation))  # reading it clears the count
    assert "new reply" not in as_client.get("/").text


def test_the_emergency_reply_shows_on_the_page(as_client, client_user):
    conversation = make_conversation(client_user, body="Elle ne respire plus")
    page = as_client.get(_page(conversation)).text
    assert "Automatic message" in page
    assert conversation.messages.filter(kind=Kind.EMERGENCY).exists()
