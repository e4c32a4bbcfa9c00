"""Messaging journeys in two browsers, against daphne (HTTP and websockets on one port), in
French and in English.

The daphne server and the shared test database come from tests/browser/conftest.py. Pages come
from this file's own fixture on conftest's `open_page` (the same checks as `page`: any console,
CSP or accessibility error fails the journey), so that one journey can open several browsers and
cut their sockets.
"""

import re
import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from messaging.models import Conversation, Kind, Message
from tests import factories
from tests.browser.conftest import (
    check_before_closing,
    off_the_loop,
    open_page,
    sign_in,
    sign_in_staff,
    snap_widths,
)
from tests.messaging.conftest import hours_unknown, notices  # noqa: F401

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clearable_access_log", "notices", "hours_unknown", "one_database"),
]

# The websocket the test itself cuts (server side) is reported by chromium while reconnecting.
EXPECTED_WHEN_CUT = ("WebSocket connection to", "[object Event]")


@pytest.fixture
def pages(browser: Browser, daphne_server, language) -> Iterator[callable]:
    """Opens as many phone pages as the journey needs (conftest's `open_page`, in the journey's
    `language`, axe-checked as they go), and fails on any console, CSP or accessibility error
    once they are closed."""
    base_url, _server = daphne_server
    opened: list[tuple[Page, list[str]]] = []
    errors: list[str] = []

    def new_page() -> Page:
        page, page_errors = open_page(browser, base_url, language)
        opened.append((page, page_errors))
        return page

    new_page.errors = errors
    new_page.cut = False  # set by the journey that cuts connections on purpose
    yield new_page
    for page, page_errors in opened:
        check_before_closing(page, page_errors)
        page.context.close()
        errors.extend(page_errors)
    _until_disconnects_handled()
    allowed = EXPECTED_WHEN_CUT if new_page.cut else ()
    unexpected = [error for error in errors if not error.startswith(allowed or ("\0",))]
    assert unexpected == [], unexpected


def _until_disconnects_handled() -> None:
    """daphne handles a closed socket a moment later (it deletes the Presence row): wait for
    that before the test's database is flushed under it."""
    from messaging.models import Presence

    deadline = time.monotonic() + 10
    while Presence.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # no event to await from here: the row's deletion is the signal


def _connected(page: Page) -> None:
    expect(page.locator("#live")).to_have_attribute("data-connected", "true")


def test_a_client_writes_and_a_vet_answers_live(pages, say, language, clinic, client_user, vet):
    factories.make_patient(client_user, name="Filou")
    owner = pages()
    sign_in(owner, client_user.email)
    owner.goto("/messages/")
    owner.get_by_label(say("Objet", "Subject")).fill("Filou boite")
    owner.get_by_label(say("Au sujet de", "About")).select_option(label="Filou")
    owner.get_by_label("Message").fill("Il boite depuis ce matin.")
    owner.get_by_role("button", name=say("Envoyer à la clinique", "Send to the clinic")).click()
    expect(owner.get_by_role("heading", name="Filou boite")).to_be_visible()
    _connected(owner)

    team = pages()
    sign_in_staff(team, vet)
    team.goto("/messages/inbox/")
    team.get_by_role("link", name=re.compile("Filou boite")).click()
    _connected(team)
    expect(team.locator("#messages")).to_contain_text("Il boite depuis ce matin.")

    owner.get_by_label(say("Votre message", "Your message")).fill(
        "Et il ne mange pas <b>du tout</b>."
    )
    owner.get_by_role("button", name=say("Envoyer", "Send"), exact=True).click()
    # The vet's page, never reloaded, shows it, escaped.
    expect(team.locator("#messages li")).to_have_count(2)
    expect(team.locator("#messages")).to_contain_text("Et il ne mange pas <b>du tout</b>.")
    expect(owner.get_by_label(say("Votre message", "Your message"))).to_have_value("")

    team.get_by_label(say("Votre message", "Your message")).fill("Venez à 14 h, nous le verrons.")
    team.get_by_role("button", name=say("Envoyer", "Send"), exact=True).click()
    expect(owner.locator("#messages")).to_contain_text("Venez à 14 h, nous le verrons.")
    # The client's page was open: the vet sees the read mark arrive.
    expect(team.locator("#read-mark")).to_contain_text(
        say("Lu par le client", "Read by the client")
    )
    assert list(Message.objects.values_list("seq", flat=True).order_by("seq")) == [1, 2, 3]
    snap_widths(owner, f"messaging-client-conversation-{language}")
    snap_widths(team, f"messaging-vet-conversation-{language}")


def test_an_emergency_word_gets_an_instant_reply_and_tops_the_inbox(
    pages, say, language, clinic, client_user, other_client_user, vet
):
    from messaging import services

    off_the_loop(
        services.start_conversation,
        client=other_client_user.client,
        author=other_client_user,
        subject="Vaccin",
        body="?",
    )
    team = pages()
    sign_in_staff(team, vet)
    team.goto("/messages/inbox/")
    expect(team.locator(".inbox-item")).to_have_count(1)

    owner = pages()
    sign_in(owner, client_user.email)
    owner.goto("/messages/")
    owner.get_by_label(say("Objet", "Subject")).fill("Au secours")
    owner.get_by_label("Message").fill("Mon chat a été EMPOISONNÉ, il a des convulsions")
    owner.get_by_role("button", name=say("Envoyer à la clinique", "Send to the clinic")).click()
    reply = owner.locator("#messages li.emergency")
    expect(reply).to_contain_text(
        say(
            "appelez tout de suite la clinique au 04 78 00 00 00",
            "call the clinic now on 04 78 00 00 00",
        )
    )
    expect(reply).to_contain_text("04 78 00 00 99")
    # The open inbox updates by itself: the urgent one first.
    expect(team.locator(".inbox-item")).to_have_count(2)
    expect(team.locator(".inbox-item").first).to_contain_text(say("Urgente", "Urgent"))
    expect(team.locator(".inbox-item").first).to_contain_text("Au secours")
    snap_widths(owner, f"messaging-emergency-reply-{language}")
    snap_widths(team, f"messaging-inbox-urgent-{language}")


def _cut_websockets(server, session_key: str) -> int:
    """Abort (no close frame) every websocket of one browser session, as a lost network does."""
    from twisted.internet import reactor

    cut = threading.Event()
    count = []

    def abort() -> None:
        for protocol in list(server.connections):
            request = getattr(protocol, "request", None)
            if request is not None and session_key in request.headers.get("cookie", ""):
                protocol.transport.abortConnection()
                count.append(protocol)
        cut.set()

    reactor.callFromThread(abort)
    assert cut.wait(5)
    return len(count)


def test_a_dropped_connection_resyncs_without_loss_or_duplicate(
    pages, say, daphne_server, clinic, client_user, vet
):
    _base, server = daphne_server
    pages.cut = True
    from messaging import services

    conversation = off_the_loop(
        services.start_conversation,
        client=client_user.client,
        author=client_user,
        subject="Suivi",
        body="Bonjour",
    ).conversation
    owner = pages()
    sign_in(owner, client_user.email)
    owner.goto(f"/messages/{conversation.pk}/")
    _connected(owner)
    team = pages()
    sign_in_staff(team, vet)
    team.goto(f"/messages/{conversation.pk}/")
    _connected(team)

    owner.context.set_offline(True)  # no reconnection until the network is back
    session_key = next(c["value"] for c in owner.context.cookies() if c["name"] == "sessionid")
    assert _cut_websockets(server, session_key) >= 1
    expect(owner.locator("#live")).to_have_attribute("data-connected", "false")
    for text in ("Premier pendant la coupure", "Second pendant la coupure"):
        team.get_by_label(say("Votre message", "Your message")).fill(text)
        team.get_by_role("button", name=say("Envoyer", "Send"), exact=True).click()
        expect(team.locator("#messages")).to_contain_text(text)
    expect(owner.locator("#messages li")).to_have_count(1)  # nothing reached the cut page

    owner.context.set_offline(False)
    _connected(owner)
    expect(owner.locator("#messages li")).to_have_count(3, timeout=20_000)
    seqs = owner.locator("#messages li").evaluate_all("items => items.map(i => i.dataset.seq)")
    assert seqs == ["1", "2", "3"]
    # And live again afterwards, still once.
    team.get_by_label(say("Votre message", "Your message")).fill("Après le retour")
    team.get_by_role("button", name=say("Envoyer", "Send"), exact=True).click()
    expect(owner.locator("#messages li")).to_have_count(4)
    assert Message.objects.filter(conversation=conversation).count() == 4


def test_bad_input_in_the_browser(
    clock, pages, say, language, settings, clinic, client_user, other_client_user, tmp_path
):
    """`clock` starts the journey on the minute: the rate limit counts in one-minute windows,
    and a journey straddling two would see "Bonjour" counted in the first."""
    from messaging import services

    settings.MEDIA_ROOT = tmp_path
    conversation = off_the_loop(
        services.start_conversation,
        client=client_user.client,
        author=client_user,
        subject="Photo",
        body="Bonjour",
    ).conversation
    owner = pages()
    sign_in(owner, client_user.email)
    owner.goto(f"/messages/{conversation.pk}/")
    _connected(owner)

    # A script renamed .jpg: the form falls back to a plain post and shows why it was refused.
    owner.get_by_label(say("Photo ou PDF (facultatif)", "Photo or PDF (optional)")).set_input_files(
        {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": b"<?php system($_GET[1]);"}
    )
    owner.get_by_role("button", name=say("Envoyer", "Send"), exact=True).click()
    expect(owner.locator("#compose-error")).to_contain_text(say("Seules les photos", "Only photos"))
    _connected(owner)

    # Too large a frame.
    settings.ACCUEIL_MESSAGING_MAX_FRAME = 1024
    owner.get_by_label(say("Votre message", "Your message")).fill("x" * 1500)
    owner.get_by_role("button", name=say("Envoyer", "Send"), exact=True).click()
    expect(owner.locator("#compose-error")).to_contain_text(say("trop volumineux", "too large"))

    # A flood: refused with a clear message, the text kept.
    settings.ACCUEIL_MESSAGING_MAX_FRAME = 16384
    settings.ACCUEIL_MESSAGING_RATE_PER_MINUTE = 3  # "Bonjour" already counted
    for index in range(3):
        owner.get_by_label(say("Votre message", "Your message")).fill(f"encore {index}")
        owner.get_by_role("button", name=say("Envoyer", "Send"), exact=True).click()
        if index < 2:
            expect(owner.locator("#messages")).to_contain_text(f"encore {index}")
    expect(owner.locator("#compose-error")).to_contain_text(say("trop vite", "too fast"))
    expect(owner.get_by_label(say("Votre message", "Your message"))).to_have_value("encore 2")
    snap_widths(owner, f"messaging-rate-limited-{language}")
    assert Message.objects.filter(conversation=conversation).count() == 3

    stranger = pages()
    sign_in(stranger, other_client_user.email)
    response = stranger.goto(f"/messages/{conversation.pk}/")
    assert response.status == 404
    assert (
        Conversation.objects.get(pk=conversation.pk).messages.filter(kind=Kind.CLIENT).count() == 3
    )
