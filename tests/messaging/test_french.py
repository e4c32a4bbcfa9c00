"""Messaging in French, the clinic's default language: every string translated, and translated
to what it means ("No longer urgent" is not "Plus urgente", which reads "more urgent")."""

import gettext
import re
from pathlib import Path

from django.urls import reverse

from messaging import services
from tests import factories
from tests.messaging.factories import make_conversation

LOCALE = Path(services.__file__).parent / "locale" / "fr" / "LC_MESSAGES"
# Words spelt the same in both languages.
SAME_IN_FRENCH = {
    "Messages",
    "Message",
    "Client",
    "client",
    "patient",
    "conversation",
    "Conversations",
    "position",
    "%(n)s min",
    "Photo %(name)s",
}


def _catalogue() -> dict[str, str]:
    with (LOCALE / "django.mo").open("rb") as handle:
        return {
            key: value
            for key, value in gettext.GNUTranslations(handle)._catalog.items()
            if isinstance(key, str) and key
        }


def test_every_messaging_string_is_translated_and_none_is_fuzzy():
    po = (LOCALE / "django.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in po
    entries = po.split("\n\n")[1:]
    untranslated = [e for e in entries if re.search(r'msgstr ""\Z', e.strip())]
    assert untranslated == []
    ids = re.findall(r'^msgid "(.+)"$', po, re.M)
    catalogue = _catalogue()
    missing = [i for i in ids if not any(k.endswith(i) for k in catalogue)]
    assert missing == [], "the .mo is older than the .po: run compilemessages"


def test_no_string_is_left_in_english():
    left = {
        key: value
        for key, value in _catalogue().items()
        if value == key.split("\x04")[-1] and value not in SAME_IN_FRENCH
    }
    assert left == {}


def test_the_team_reads_its_actions_in_french(client_user, vet):
    conversation = make_conversation(client_user, body="Il saigne beaucoup")
    staff = factories.verified_http_client(vet)
    staff.cookies["django_language"] = "fr"
    page = staff.get(reverse("messaging:conversation", args=[conversation.pk])).text
    assert "N'est plus urgente" in page
    assert ">Plus urgente<" not in page
    assert ">Fermer</button>" in page
    services.set_closed(conversation=conversation, closed=True)
    page = staff.get(reverse("messaging:conversation", args=[conversation.pk])).text
    assert ">Fermée</span>" in page
    inbox = staff.get(reverse("messaging:inbox")).text
    assert ">Fermées</a>" in inbox
    assert ">Urgentes</a>" in inbox
