"""Messaging as a clinic meets it on day one, in French and in English: the client's
conversation page with every kind of message and no CSP error, and quick replies a keyboard
user can browse without inserting or sending anything.

The `page`/`page_fr` fixtures of tests/browser/conftest.py fail the journey on any console
error, which includes every CSP violation ("Refused to apply inline style…").
"""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import Page, expect

from messaging import services
from messaging.models import Kind, Message, QuickReply
from portal.lib import hours
from tests.browser.conftest import off_the_loop, sign_in, sign_in_staff
from tests.messaging.conftest import hours_unknown, notices  # noqa: F401

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clearable_access_log", "notices", "hours_unknown", "one_database"),
]

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _connected(page: Page) -> None:
    expect(page.locator("#live")).to_have_attribute("data-connected", "true")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_the_clients_conversation_page_shows_every_kind_of_message_without_a_csp_error(
    any_page,
    say,
    media,
    clinic,
    client_user,
    vet,
):
    page = any_page
    closed_until = timezone.now() + timedelta(hours=10)
    # closed until tomorrow (the `hours_unknown` fixture puts the provider back)
    hours.set_opening_provider(lambda now: closed_until)
    conversation = off_the_loop(
        services.start_conversation,
        client=client_user.client,
        author=client_user,
        subject="Filou",
        body="Il a mangé du chocolat et il respire très mal",
    ).conversation
    off_the_loop(
        services.post_message,
        conversation_id=conversation.pk,
        author=vet,
        body="Voici la photo de la radio.",
        uploads=[SimpleUploadedFile("radio.png", PNG, content_type="image/png")],
    )
    kinds = set(conversation.messages.values_list("kind", flat=True))
    assert {Kind.EMERGENCY, Kind.CLOSED_NOTE, Kind.STAFF} <= kinds

    sign_in(page, client_user.email)
    page.goto(f"/messages/{conversation.pk}/")
    _connected(page)
    reply = page.locator("#messages li.emergency")
    # Out of hours: the emergency line, a link a phone dials.
    expect(reply.locator('a[href="tel:+33478000099"]')).to_have_text("04 78 00 00 99")
    expect(page.locator("#call-note a")).to_have_attribute("href", "tel:+33478000099")
    expect(page.get_by_role("img", name=re.compile("radio.png"))).to_be_visible()
    page.get_by_label(say("Votre message", "Your message")).fill("Merci, j'appelle.")
    page.get_by_role("button", name=say("Envoyer", "Send"), exact=True).click()
    expect(page.locator("#messages")).to_contain_text("Merci, j'appelle.")
    # The live fragments (typing, status, read marks) swap in without inline style either.
    off_the_loop(services.post_message, conversation_id=conversation.pk, author=vet, body="Rappel")
    expect(page.locator("#messages li")).to_have_count(
        Message.objects.filter(conversation=conversation).count()
    )
    # And the photo opened on its own (the browser's image view) raises no CSP error either.
    page.get_by_role("img", name=re.compile("radio.png")).click()
    page.wait_for_url(re.compile(r"/messages/attachments/\d+/"))
    page.go_back()
    _connected(page)


def test_a_keyboard_user_browses_quick_replies_without_inserting_or_sending(
    any_page, say, clinic, client_user, vet
):
    page = any_page
    QuickReply.objects.create(title="Horaires", body="Nous sommes ouverts de 9 h à 19 h.")
    QuickReply.objects.create(title="Vaccins", body="Le rappel est à faire chaque année.")
    conversation = off_the_loop(
        services.start_conversation,
        client=client_user.client,
        author=client_user,
        subject="Question",
        body="Bonjour",
    ).conversation
    sign_in_staff(page, vet)
    page.goto(f"/messages/{conversation.pk}/")
    _connected(page)
    body = page.get_by_label(say("Votre message", "Your message"))
    quick = page.get_by_label(say("Réponse rapide", "Quick reply"))

    quick.focus()
    quick.press("ArrowDown")
    quick.press("ArrowDown")
    expect(body).to_have_value("")  # moving through the options inserts nothing
    quick.press("Enter")
    expect(body).to_have_value("Le rappel est à faire chaque année.")
    expect(body).to_be_focused()
    assert conversation.messages.count() == 1  # and nothing was sent

    quick.focus()
    quick.press("ArrowDown")
    expect(body).to_have_value("Le rappel est à faire chaque année.")
    page.get_by_role("button", name=say("Insérer", "Insert")).click()
    expect(body).to_have_value(
        "Le rappel est à faire chaque année.\nNous sommes ouverts de 9 h à 19 h."
    )
    assert conversation.messages.count() == 1
    page.get_by_role("button", name=say("Envoyer", "Send"), exact=True).click()
    expect(page.locator("#messages li")).to_have_count(2)
    expect(body).to_have_value("")
    # The compose form came back over the socket: the quick replies are still there.
    expect(quick).to_be_visible()
