"""Privacy speaks French first: every string of its catalogue is translated."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests import factories

CATALOGUE = Path(__file__).parents[2] / "privacy/locale/fr/LC_MESSAGES/django.po"


def test_every_string_of_the_catalogue_is_translated():
    entries = CATALOGUE.read_text().split("\n\n")[1:]
    empty = [
        entry
        for entry in entries
        if re.search(r'^msgstr(\[\d\])? ""\n?(?!")', entry + "\n", re.MULTILINE)
        and not re.search(r'^msgstr(\[\d\])? ""\n"', entry, re.MULTILINE)
    ]
    fuzzy = [entry for entry in entries if "#, fuzzy" in entry]
    assert empty == []
    assert fuzzy == []


@pytest.mark.django_db
def test_the_erasure_page_in_french(client_user):
    http = factories.http_client(client_user)

    page = http.get(reverse("privacy:erasure"), headers={"accept-language": "fr"})

    body = page.content.decode()
    assert "Ce qui est conservé, et pourquoi" in body
    assert "conservés 5 ans" in body
    assert "Demander la fermeture de mon compte" in body
