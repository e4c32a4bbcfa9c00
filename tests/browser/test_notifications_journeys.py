"""Notifications journeys: a client's choices and their journal, a manager's text message
template with the live part counter, the staff outbox filters; in French and in English
(the template editor's manager edits the version in the language she reads)."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from notifications.models import Channel, Kind, MessageTemplate, Notification, Preference, Status
from tests import factories
from tests.browser.conftest import sign_in, sign_in_staff, snap_widths

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_client_chooses_how_to_be_told_and_sees_the_journal(
    any_page: Page, say, language, client_user
):
    page = any_page
    sign_in(page, client_user.email)
    page.get_by_role(
        "link", name=say("Choisir comment nous vous contactons", "Choose how we contact you")
    ).click()
    expect(
        page.get_by_role("heading", name=say("Mes notifications", "My notifications"))
    ).to_be_visible()
    marketing = page.get_by_label(
        say(
            "Envoyez-moi par e-mail les actualités et campagnes de prévention de la clinique",
            "Send me the clinic's news and prevention campaigns by e-mail",
        )
    )
    expect(marketing).not_to_be_checked()  # never pre-ticked
    snap_widths(page, f"notifications-preferences-{language}")

    marketing.check()
    page.get_by_role("group", name=say("Nouveaux documents", "New documents")).get_by_label(
        say("SMS", "Text message")
    ).check()
    page.get_by_role("button", name=say("Enregistrer mes choix", "Save my choices")).click()

    expect(
        page.get_by_text(say("Vos choix sont enregistrés.", "Your choices are saved."))
    ).to_be_visible()
    journal = page.locator(".journal")
    expect(
        journal.get_by_text(
            re.compile(
                say(r"Actualités et campagnes\s?: non → oui", "News and campaigns: no → yes")
            )
        )
    ).to_be_visible()
    expect(
        journal.get_by_text(say("page des préférences", "preferences page")).first
    ).to_be_visible()
    snap_widths(page, f"notifications-preferences-saved-{language}")
    preference = Preference.objects.get(client=client_user.client)
    assert preference.marketing_opt_in is True
    assert preference.channels_for("documents") == ["email", "sms"]


def test_a_manager_edits_a_text_template_and_sees_the_parts_warning_live(
    any_page: Page, say, language, manager
):
    page = any_page
    sign_in_staff(page, manager)
    page.goto("/notifications/staff/templates/")
    expect(
        page.get_by_role("heading", name=say("Modèles de messages", "Message templates"))
    ).to_be_visible()
    # The links name the language they edit: the one the manager reads.
    page.get_by_role("row", name=say("Nouveau message", "New message")).get_by_role(
        "link", name=f"{say('SMS', 'Text message')} ({language.upper()})"
    ).click()

    text = page.get_by_label(say("Texte", "Text"))
    counter = page.locator("#segments")
    one_part = re.compile(rf"(?<!\d)1 {say('partie', 'part')} \(")
    expect(counter).to_contain_text(one_part)
    long = say(
        "un message vous attend dans votre espace, merci de le lire. ",
        "a message is waiting for you in your space, please read it. ",
    )
    text.fill(say("{{ sender }} : ", "{{ sender }}: ") + long * 6)
    expect(counter.get_by_role("alert")).to_contain_text(
        say("plus de 2 parties", "more than 2 parts")
    )
    snap_widths(page, f"notifications-template-warning-{language}")

    text.fill(
        say(
            "{{ sender }} : un message vous attend dans votre espace : {{ base_url }}",
            "{{ sender }}: a message is waiting in your space: {{ base_url }}",
        )
    )
    expect(counter).to_contain_text(one_part)
    expect(counter.get_by_role("alert")).to_have_count(0)
    page.get_by_role("button", name=say("Enregistrer", "Save"), exact=True).click()
    expect(
        page.get_by_text(
            say("La formulation de la clinique est enregistrée.", "The clinic's wording is saved.")
        )
    ).to_be_visible()
    assert MessageTemplate.objects.get(kind="new_message", channel="sms", language=language)


def test_staff_filter_the_outbox_and_open_a_failed_message(
    any_page: Page, say, language, reception, client_user
):
    page = any_page
    camille = client_user.client
    other = factories.make_client(first_name="Bruno", last_name="Lambert", email="b@example.com")
    now = timezone.now()
    failed = Notification.objects.create(
        client=camille,
        recipient="+33612345678",
        channel=Channel.SMS,
        kind=Kind.APPOINTMENT_REMINDER,
        body="Tests: reminder",
        scheduled_at=now,
        status=Status.FAILED,
        reason="Gave up after 5 attempts: provider answered HTTP 503",
        idempotency_key="journey:1",
        attempts=5,
    )
    for index in range(6):
        Notification.objects.create(
            client=other,
            recipient="b@example.com",
            channel=Channel.EMAIL,
            kind=Kind.DOCUMENT_AVAILABLE,
            body="A new document",
            scheduled_at=now,
            status=Status.SENT,
            idempotency_key=f"journey:sent:{index}",
        )
    sign_in_staff(page, reception)
    page.goto("/notifications/staff/")
    expect(page.get_by_role("heading", name=say("File d'envoi", "Outbox"))).to_be_visible()
    rows = page.locator("#outbox-results tbody tr")
    expect(rows).to_have_count(7)

    page.get_by_label(say("Statut", "Status")).select_option("failed")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("provider answered HTTP 503")
    assert "status=failed" in page.url
    snap_widths(page, f"notifications-outbox-filtered-{language}")

    page.get_by_label(say("Statut", "Status")).select_option("")
    page.get_by_label(say("Client ou destinataire", "Client or recipient")).fill("Lambert")
    expect(rows).to_have_count(6)

    page.goto(f"/notifications/staff/{failed.pk}/")
    expect(page.get_by_text("provider answered HTTP 503").first).to_be_visible()
    page.get_by_role("button", name=say("Renvoyer", "Send it again")).click()
    expect(
        page.get_by_text(say("Une copie est en route.", "A copy is on its way."))
    ).to_be_visible()
    snap_widths(page, f"notifications-message-detail-{language}")
