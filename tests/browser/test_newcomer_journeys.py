"""New clients on their own (issue 12, "Done when"): a newcomer on a phone goes from the clinic's
public page to a booked first visit (service, a day of the strip, a held time, the account and the
animal, the mobile checked by a code) and reception, at a desk, confirms the animal the owner
declared. Then the household: an owner shares one animal with a pet-sitter by e-mail, the sitter
accepts with their own account and sees the animal but not its reports, the owner takes the
access back and the sitter's page of it is a 404. In French and in English.

Fields are filled by their names (the French labels "Nom" say both the person's last name and the
animal's name); the words the journeys read and tap are in WORDS."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone, translation
from django.utils.text import capfirst
from playwright.sync_api import Page, expect

from booking.models import Appointment, SlotHold
from household.models import HouseholdEvent
from notifications import backends
from notifications.models import Channel, Kind, Notification, Preference
from portal.lib import dates
from portal.models import User
from records.models import Guardianship, Patient
from tests import factories
from tests.booking.factories import make_practitioner, make_service
from tests.browser.conftest import (
    check_a11y,
    sign_in,
    sign_in_staff,
    snap,
    snap_widths,
)

pytestmark = pytest.mark.django_db(transaction=True)

PARIS = ZoneInfo("Europe/Paris")
CLINIC = "Clinique des Tilleuls"
ADDRESS = "12 avenue des Tilleuls\n69006 Lyon"
MAP_URL = "https://www.openstreetmap.org/search?query=12+avenue+des+Tilleuls%2C+69006+Lyon"
SITE_PHONE = "+33478112233"
FIRST_VISIT = "Première consultation"
NEWCOMER = {
    "first_name": "Inès",
    "last_name": "Nouvelle",
    "email": "ines.nouvelle@example.com",
    "phone": "06 12 34 56 78",
    "password": "un-mot-de-passe-solide",
}
ANIMAL = "Pistache"
JOIN_LINK = re.compile(r"(/household/join/[^/\s]+/)")

# The words the journeys read and tap, in each language. Still English in the French catalogue
# when this was written, so not read here (the pages are found by their structure instead):
# the public page's "Call us", "See it on a map", "Opening hours", "Book online", "Clinic: …",
# "Emergencies: …"; "Book a first visit" and its steps; "You and your animal", "You",
# "Your animal", "Your mobile", "The 6-digit code", "Check and book", and the message
# "Your first visit is booked. …".
WORDS = {
    "fr": {
        "book": "Prendre rendez-vous",
        "sign_in": "Se connecter",
        "free_times": "Horaires libres",
        "create": "Créer mon compte",
        "your_appointment": "Votre rendez-vous",
        "to_confirm": "À confirmer",
        "declared": "Déclaré par le propriétaire",
        "confirm": "Confirmer",
        "confirmed": "Informations confirmées.",
        "confirmed_by": "Déclaré par le propriétaire, confirmé par",
        "declared_by_you": "Déclaré par vous",
        "their_email": "Son adresse e-mail",
        "sitter": "Garde (pet-sitter)",
        "send_invitation": "Envoyer l'invitation",
        "invitation_sent": "Invitation envoyée à",
        "shares_with_you": "Camille Martin partage des animaux avec vous",
        "accept": "Accepter",
        "done": "C'est fait : les animaux sont maintenant dans votre espace.",
        "shared_with_me": "Animaux partagés avec moi",
        "reports": "Comptes rendus et résultats",
        "upcoming_care": "Soins à venir",
        "remove": "Retirer Bruno Lambert",
        "no_longer": "Bruno Lambert ne partage plus Filou.",
        "not_found": "Page introuvable",
    },
    "en": {
        "book": "Book an appointment",
        "sign_in": "Sign in",
        "free_times": "Free times",
        "create": "Create my account",
        "your_appointment": "Your appointment",
        "to_confirm": "To confirm",
        "declared": "Declared by the owner",
        "confirm": "Confirm",
        "confirmed": "Details confirmed.",
        "confirmed_by": "Declared by the owner, confirmed by",
        "declared_by_you": "Declared by you",
        "their_email": "Their e-mail address",
        "sitter": "Pet-sitter",
        "send_invitation": "Send the invitation",
        "invitation_sent": "Invitation sent to",
        "shares_with_you": "Camille Martin shares animals with you",
        "accept": "Accept",
        "done": "Done: the animals are now in your space.",
        "shared_with_me": "Animals shared with me",
        "reports": "Reports and results",
        "upcoming_care": "Upcoming care",
        "remove": "Remove Bruno Lambert",
        "no_longer": "Bruno Lambert no longer shares Filou.",
        "not_found": "Page not found",
    },
}


@pytest.fixture(autouse=True)
def _outboxes(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.NOTIFICATIONS_SMS_BACKEND = "locmem"
    backends.outbox.clear()
    mail.outbox.clear()


@pytest.fixture
def clinic_online(clinic):
    """One site with its address and phone, a vet every day (9:00 to 12:00, 14:00 to 19:00),
    two services new clients may book (a first visit takes 40 minutes instead of 20) and one
    kept for known clients."""
    factories.make_clinic(name=CLINIC)
    site = factories.make_site(name="Tilleuls", address=ADDRESS, phone=SITE_PHONE)
    vet = make_practitioner(site, name="Dr Dubois")
    first = make_service(site, [vet], slug="premiere", name=FIRST_VISIT, duration=20)
    first.first_visit_minutes = 40
    first.save(update_fields=["first_visit_minutes"])
    make_service(site, [vet], slug="vaccination", name="Vaccination", duration=15)
    follow_up = make_service(site, [vet], slug="suivi", name="Suivi", duration=20)
    follow_up.new_clients_allowed = False
    follow_up.save(update_fields=["new_clients_allowed"])
    return first


def _in(language: str, function, value) -> str:
    with translation.override(language), timezone.override(PARIS):
        return function(value)


@pytest.mark.slow
def test_a_newcomer_books_a_first_visit_from_the_public_page_and_reception_confirms_the_animal(
    clock, any_page: Page, language, other_page, clinic_online, reception
):
    words = WORDS[language]
    page = any_page  # a phone

    # The public page: who, where (with a map link, no script), when, tap-to-call, book.
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text(CLINIC)
    main = page.locator("main")
    expect(main.locator("address")).to_contain_text("12 avenue des Tilleuls")
    expect(main.locator("address")).to_contain_text("69006 Lyon")
    expect(main.locator(f'a[href="{MAP_URL}"]')).to_be_visible()
    expect(main.locator('a[href="tel:+33478000000"]')).to_be_visible()  # the clinic
    expect(main.locator('a[href="tel:+33478000099"]')).to_be_visible()  # emergencies
    expect(main.locator(f'a[href="tel:{SITE_PHONE}"]')).to_be_visible()  # the site
    hours = main.locator("table.hours tbody tr")
    expect(hours).to_have_count(7)
    expect(hours.first).to_contain_text("09:00\u201312:00, 14:00\u201319:00")
    expect(main).to_contain_text(FIRST_VISIT)
    expect(main).not_to_contain_text("Suivi")  # known clients only
    expect(page.get_by_role("button", name=words["sign_in"], exact=True)).to_be_visible()
    check_a11y(page)  # axe, light and dark (every later page is checked as the journey goes)
    snap_widths(page, f"newcomer-public-{language}")
    page.get_by_role("button", name=words["book"], exact=True).click()

    # What for: the services new clients may book, not the one kept for known clients.
    page.wait_for_url("**/start/")
    choices = page.locator("ul.service-choice li")
    expect(choices).to_have_count(2)
    expect(page.locator("ul.service-choice")).not_to_contain_text("Suivi")
    snap(page, f"newcomer-service-phone-{language}")
    page.get_by_role("button", name=FIRST_VISIT, exact=True).click()

    # When: a day in the strip (an htmx swap, the address follows), then a time.
    page.wait_for_url("**/start/premiere/")
    expect(page.locator("main")).to_contain_text("40")  # a first visit's length
    friday = clock.date() + timedelta(days=2)
    day_link = page.locator(f'nav.day-strip a[href="?day={friday.isoformat()}"]')
    expect(day_link).to_have_attribute("data-free", "yes")
    day_link.click()
    expect(day_link).to_have_attribute("aria-current", "date")
    expect(page).to_have_url(re.compile(rf"\?day={friday.isoformat()}$"))
    expect(page.locator("#availability h3")).to_have_text(
        capfirst(_in(language, dates.long_date, friday))
    )
    times = page.get_by_role("list", name=words["free_times"])
    first_time = times.get_by_role("button").first
    expect(first_time).to_have_text(re.compile(r"^\d\d:\d\d$"))
    chosen = first_time.inner_text().strip()
    snap(page, f"newcomer-day-phone-{language}")
    first_time.click()

    # The time is held while the newcomer creates the account.
    page.wait_for_url("**/start/account/")
    hold = SlotHold.objects.get()
    starts_at = hold.starts_at.astimezone(PARIS)
    assert (starts_at.date(), f"{starts_at:%H:%M}") == (friday, chosen)
    assert hold.service == clinic_online
    held = page.get_by_test_id("held")
    expect(held).to_contain_text(FIRST_VISIT)
    expect(held).to_contain_text(chosen)
    expect(held).to_contain_text(f"{hold.expires_at.astimezone(PARIS):%H:%M}")

    # You and your animal.
    for name, value in NEWCOMER.items():
        page.locator(f'[name="me-{name}"]').fill(value)
    page.locator('[name="animal-name"]').fill(ANIMAL)
    page.locator('[name="animal-species"]').select_option("cat")
    page.locator('[name="animal-sex"]').select_option("f")
    page.locator('[name="animal-age_years"]').fill("0")
    page.locator('[name="animal-age_months"]').fill("3")
    snap(page, f"newcomer-account-phone-{language}")
    page.get_by_role("button", name=words["create"], exact=True).click()

    # Your mobile: the code went out as a text message, to the number typed.
    page.wait_for_url("**/start/verify/")
    user = User.objects.get(email=NEWCOMER["email"])
    newcomer = user.client
    assert newcomer.phone == "+33612345678"
    assert newcomer.preferred_language == language
    assert not Preference.objects.get(client=newcomer).phone_verified
    pistache = Patient.objects.get(name=ANIMAL)
    assert pistache.declared_by_owner
    assert pistache.birth_date_estimated
    assert Guardianship.objects.filter(client=newcomer, patient=pistache).exists()
    assert not Appointment.objects.exists()  # booked only once the mobile is checked
    sms = Notification.objects.filter(kind=Kind.VERIFICATION_CODE).latest("pk")
    assert (sms.channel, sms.recipient, sms.client_id) == (Channel.SMS, "+33612345678", newcomer.pk)
    code = re.search(r"\b(\d{6})\b", sms.body).group(1)
    expect(page.locator("main")).to_contain_text("06 12 34 56 78")
    expect(page.get_by_test_id("held")).to_contain_text(chosen)
    snap(page, f"newcomer-verify-phone-{language}")
    page.locator('input[name="code"]').fill(code)
    page.locator('form:has(input[name="code"]) button[type="submit"]').click()

    # The booked first visit: the day and time held, for the animal declared.
    page.wait_for_url(re.compile(r"/booking/\d+/$"))
    appointment = Appointment.objects.get(client=newcomer)
    assert page.url.endswith(f"/booking/{appointment.pk}/")
    assert appointment.patient == pistache
    assert appointment.service == clinic_online
    assert appointment.starts_at == hold.starts_at
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=40)
    assert Preference.objects.get(client=newcomer).phone_verified
    assert not SlotHold.objects.exists()  # the booking used the hold up
    expect(page.get_by_role("heading", level=1)).to_have_text(words["your_appointment"])
    ends = appointment.ends_at.astimezone(PARIS)
    expect(page.get_by_test_id("when")).to_have_text(
        f"{capfirst(_in(language, dates.long_date, starts_at))}, {chosen}\u2013{ends:%H:%M}"
    )
    expect(page.locator("dl.summary")).to_contain_text(ANIMAL)
    expect(page.locator("dl.summary")).to_contain_text(FIRST_VISIT)
    snap_widths(page, f"newcomer-booked-{language}")
    page.goto(f"/records/animals/{pistache.pk}/")
    expect(page.locator("main")).to_contain_text(words["declared_by_you"])

    # Reception, at a desk: the animal waits on the "to confirm" list; they confirm it.
    desk = other_page()
    sign_in_staff(desk, reception)
    desk.goto("/records/staff/to-confirm/")
    expect(desk.get_by_role("heading", level=1)).to_have_text(words["to_confirm"])
    row = desk.locator("tbody tr", has_text=ANIMAL)
    expect(row).to_contain_text("Nouvelle")
    snap(desk, f"newcomer-to-confirm-desktop-{language}")
    row.get_by_role("link", name=ANIMAL, exact=True).click()
    desk.wait_for_url(f"**/records/staff/patients/{pistache.pk}/")
    declared = desk.get_by_role("heading", name=words["declared"], exact=True)
    expect(declared).to_be_visible()
    desk.get_by_role("button", name=words["confirm"], exact=True).click()
    expect(declared).to_have_count(0)
    expect(desk.locator("main")).to_contain_text(words["confirmed"])
    expect(desk.locator("main")).to_contain_text(
        f"{words['confirmed_by']} {reception.get_full_name()}"
    )
    snap(desk, f"newcomer-confirmed-desktop-{language}")
    pistache.refresh_from_db()
    assert not pistache.declared_by_owner
    assert pistache.confirmed_by == reception
    assert pistache.confirmed_at is not None
    desk.goto("/records/staff/to-confirm/")
    expect(desk.locator("main")).not_to_contain_text(ANIMAL)

    # The owner's page of the animal no longer says "declared by you".
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(ANIMAL)
    expect(page.locator("main")).not_to_contain_text(words["declared_by_you"])


@pytest.mark.slow
def test_an_owner_shares_an_animal_with_a_pet_sitter_then_takes_it_back(
    any_page: Page, language, other_page, settings, live_url, client_user, other_client_user
):
    words = WORDS[language]
    settings.ACCUEIL_BASE_URL = live_url  # the invitation's link leads to this server
    camille = client_user.client
    camille.preferred_language = language
    camille.save(update_fields=["preferred_language"])
    filou = factories.make_patient(camille, name="Filou")
    factories.make_patient(camille, name="Mina")
    sitter_email = other_client_user.email

    # Camille, on her phone, invites Bruno as a pet-sitter for Filou only.
    owner = any_page
    sign_in(owner, client_user.email)
    owner.goto("/household/")
    owner.get_by_label(words["their_email"]).fill(sitter_email)
    owner.get_by_role("radio", name=words["sitter"], exact=True).check()
    owner.get_by_role("checkbox", name="Filou", exact=True).check()
    snap(owner, f"household-invite-phone-{language}")
    owner.get_by_role("button", name=words["send_invitation"], exact=True).click()
    expect(owner.locator("main")).to_contain_text(f"{words['invitation_sent']} {sitter_email}")

    sent = [message for message in mail.outbox if sitter_email in message.to]
    assert len(sent) == 1, [message.to for message in mail.outbox]
    link = JOIN_LINK.search(sent[0].body)
    assert link, sent[0].body

    # Bruno, signed in on his own phone, opens the link and accepts.
    sitter = other_page(viewport=None)
    sign_in(sitter, sitter_email)
    sitter.goto(link.group(1))
    expect(sitter.get_by_role("heading", level=1)).to_have_text(words["shares_with_you"])
    expect(sitter.locator("main")).to_contain_text("Filou")
    expect(sitter.locator("main")).not_to_contain_text("Mina")
    snap(sitter, f"household-join-phone-{language}")
    sitter.get_by_role("button", name=words["accept"], exact=True).click()
    sitter.wait_for_url("**/household/")
    expect(sitter.locator("main")).to_contain_text(words["done"])
    shared = sitter.locator(
        "section", has=sitter.get_by_role("heading", name=words["shared_with_me"])
    )
    expect(shared.get_by_role("link")).to_have_count(1)
    link_row = Guardianship.objects.get(client=other_client_user.client, patient=filou)
    assert link_row.role == Guardianship.Role.SITTER
    assert not Guardianship.objects.filter(
        client=other_client_user.client, patient__name="Mina"
    ).exists()

    # He sees Filou's page, its care, but not its reports (the owner does).
    shared.get_by_role("link", name="Filou", exact=True).click()
    sitter.wait_for_url(f"**/records/animals/{filou.pk}/")
    expect(sitter.get_by_role("heading", level=1)).to_have_text("Filou")
    expect(sitter.get_by_role("heading", name=words["upcoming_care"])).to_be_visible()
    expect(sitter.get_by_role("heading", name=words["reports"])).to_have_count(0)
    snap(sitter, f"household-sitter-animal-phone-{language}")
    owner.goto(f"/records/animals/{filou.pk}/")
    expect(owner.get_by_role("heading", name=words["reports"])).to_be_visible()

    # Camille takes the access back.
    owner.goto("/household/")
    owner.get_by_role("button", name=words["remove"], exact=True).click()
    expect(owner.locator("main")).to_contain_text(words["no_longer"])
    assert not Guardianship.objects.filter(client=other_client_user.client).exists()
    kinds = list(
        HouseholdEvent.objects.filter(patient=filou).order_by("at", "pk").values_list("kind")
    )
    assert [kind for (kind,) in kinds] == [
        HouseholdEvent.Kind.INVITED,
        HouseholdEvent.Kind.ACCEPTED,
        HouseholdEvent.Kind.REVOKED,
    ], kinds

    # Bruno's page of Filou is gone.
    answer = sitter.goto(f"/records/animals/{filou.pk}/")
    assert answer is not None
    assert answer.status == 404
    expect(sitter.get_by_role("heading", level=1)).to_have_text(words["not_found"])
    expect(sitter.locator("main")).not_to_contain_text("Filou")
