"""Nothing on a messaging page or fragment needs what the Content-Security-Policy refuses:
no style attribute, no <style>, no inline script or event handler (style-src and script-src
'self' only). Every page and every fragment the websocket sends is rendered and read."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import reverse

from messaging import services
from messaging.forms import ComposeForm
from messaging.models import Message, QuickReply
from tests.messaging.factories import make_conversation

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%%EOF\n"
FRAGMENTS = Path(services.__file__).parent / "templates" / "messaging" / "fragments"

INLINE = [
    (re.compile(r"<[^>]*\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"<style[\s>]", re.I), "a <style> element"),
    (re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<[^>]*\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def inline_code(html: str) -> list[str]:
    return [
        f"{what}: {match.group(0)[:80]}"
        for pattern, what in INLINE
        for match in pattern.finditer(html)
    ]


@pytest.fixture
def busy(client_user, vet, settings, tmp_path, hours_unknown):
    """A conversation with every kind of message: the client's, an emergency reply, an
    out-of-hours note, the team's with a photo and a PDF; and quick replies."""
    settings.MEDIA_ROOT = tmp_path
    hours_unknown.set_opening_provider(lambda now: now + timedelta(days=1))  # closed
    conversation = make_conversation(client_user, body="Il a mangé du chocolat, il saigne")
    services.post_message(
        conversation_id=conversation.pk,
        author=vet,
        body="Voici la radio",
        uploads=[
            SimpleUploadedFile("radio.png", PNG, content_type="image/png"),
        ],
    )
    services.post_message(
        conversation_id=conversation.pk,
        author=vet,
        body="Et le compte rendu",
        uploads=[
            SimpleUploadedFile("cr.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
        ],
    )
    QuickReply.objects.create(title="Horaires", body='Ouvert de 9 h à 19 h, "sans" <rdv>')
    assert conversation.messages.count() == 5
    return conversation


def test_no_messaging_page_holds_inline_style_or_script(
    busy, as_client, as_vet, as_manager, client_user
):
    conversation_url = reverse("messaging:conversation", args=[busy.pk])
    reply = QuickReply.objects.get()
    pages = {
        "client: conversations": as_client.get(reverse("messaging:conversations")),
        "client: conversation": as_client.get(conversation_url),
        "client: home panel": as_client.get("/"),
        "vet: conversation": as_vet.get(conversation_url),
        "vet: inbox": as_vet.get(reverse("messaging:inbox")),
        "vet: urgent inbox": as_vet.get(reverse("messaging:inbox") + "?filter=urgent"),
        "vet: inbox list (htmx)": as_vet.get(reverse("messaging:inbox"), HTTP_HX_REQUEST="true"),
        "vet: home panel": as_vet.get("/"),
        "vet: client page panel": as_vet.get(
            reverse("portal:client_detail", args=[client_user.client.pk])
        ),
        "manager: quick replies": as_manager.get(reverse("messaging:quick_replies")),
        "manager: quick reply": as_manager.get(
            reverse("messaging:quick_reply_edit", args=[reply.pk])
        ),
    }
    found = {}
    for name, response in pages.items():
        assert response.status_code == 200, name
        if problems := inline_code(response.text):
            found[name] = problems
    assert found == {}
    assert "radio.png" in pages["client: conversation"].text
    assert "Horaires" in pages["vet: conversation"].text


def test_no_websocket_fragment_holds_inline_style_or_script(busy, vet):
    thread = list(Message.objects.after(busy.pk, 0))
    context = {
        "conversation": busy,
        "thread": thread,
        "with_status": True,
        "viewer_side": "clinic",
        "staff": True,
        "quick_replies": QuickReply.objects.all(),
        "compose": ComposeForm(),
        "client_token": "t",
        "error": "Trop vite",
        "side": "client",
        "conversations": [busy],
        "client_conversations": [busy],
        "client_unread": 1,
        "unread_total": 1,
        "urgent_total": 1,
        "waiting_total": 1,
        "message": thread[1],
    }
    names = sorted(path.name for path in FRAGMENTS.glob("*.html"))
    assert "messages.html" in names
    found = {}
    for name in names:
        html = render_to_string(f"messaging/fragments/{name}", context)
        if problems := inline_code(html):
            found[name] = problems
    assert found == {}


def test_a_photo_opened_on_its_own_gets_a_policy_for_a_bare_image(busy, as_client):
    """The browser's own image view styles the photo inline: the conversation's policy refused
    it (three CSP errors each time a client opened a photo). The photo's response allows that
    and nothing else: no script, no other source."""
    photo = busy.messages.get(body_key__isnull=False, seq=4).attachments.get()
    response = as_client.get(reverse("messaging:attachment", args=[photo.pk]))
    b"".join(response.streaming_content)
    policy = response["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in policy
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    page = as_client.get(reverse("messaging:conversation", args=[busy.pk]))
    assert "style-src 'self'" in page["Content-Security-Policy"]
    assert "unsafe-inline" not in page["Content-Security-Policy"]
