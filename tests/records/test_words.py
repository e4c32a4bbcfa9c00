"""Records' words in French (issue #18): "née le 1er mars", "4,2 kg", "1er décembre"."""

import re
from datetime import date

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from records.models import EntryKind
from tests import factories
from tests.records.factories import make_entry, make_weight

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 2)


@pytest.fixture(autouse=True)
def _frozen():
    # The record page shows care "due" and "overdue" against today.
    with time_machine.travel("2026-12-02T10:00:00+01:00", tick=False):
        yield


def _page(user, patient, language="fr") -> str:
    http = Client(headers={"accept-language": language})
    http.force_login(user)
    return http.get(reverse("records:animal", args=[patient.pk])).content.decode()


def _header(page: str) -> str:
    start = page.index('class="patient-header"')
    return page[start : page.index("</header>", start)]


@pytest.mark.parametrize(
    ("sex", "neutered", "french", "english"),
    [
        ("f", True, "Femelle (stérilisée) · née le 1er mars 2020", "born 1 March 2020"),
        ("m", False, "Mâle · né le 1er mars 2020", "born 1 March 2020"),
        ("u", False, "Naissance : 1er mars 2020", "Born: 1 March 2020"),
    ],
)
def test_it_says_born_as_french_does_for_her_him_or_an_unknown_sex(
    client_user, sex, neutered, french, english
):
    patient = factories.make_patient(
        client_user, sex=sex, neutered=neutered, birth_date=date(2020, 3, 1)
    )
    header = " ".join(_header(_page(client_user, patient)).split())
    assert french in header
    assert "né(e)" not in header
    assert english in " ".join(_header(_page(client_user, patient, "en")).split())


def test_the_weight_chart_labels_and_table_use_the_decimal_comma_in_french(client_user):
    patient = factories.make_patient(client_user)
    make_weight(patient, date(2026, 1, 10), "4.20")
    make_weight(patient, date(2026, 6, 10), "4.75")
    page = _page(client_user, patient)

    svg = page[page.index("<svg") : page.index("</svg>")]
    # What a person reads: the axis, each dot's title, the description and the table.
    labels = re.findall(r'class="y-label">([^<]*)<', svg)
    assert labels
    assert all("," in label or label.isdigit() for label in labels), labels
    assert "4,2 kg" in svg
    assert "4,75 kg" in svg
    assert "de 4,2 kg le 10 janvier 2026 à 4,75 kg le 10 juin 2026" in svg
    table = page[page.index("<table") : page.index("</table>")]
    assert "<td>4,2</td>" in table
    assert "<td>4,75</td>" in table
    # What the browser draws with keeps the dot (commit 1306dfa).
    numbers = re.findall(r'\s(?:x1|x2|y1|y2|x|y|cx|cy|points)="([^"]*)"', svg)
    assert numbers
    assert not [n for n in numbers if "," in n.replace(" ", "") and "." not in n]

    english = _page(client_user, patient, "en")
    assert "<td>4.2</td>" in english


def test_record_dates_say_1er_and_keep_months_lower_case(client_user):
    patient = factories.make_patient(client_user)
    make_entry(patient, kind=EntryKind.CONSULTATION, date=date(2026, 12, 1), title="Contrôle")
    page = _page(client_user, patient)
    assert "1er décembre 2026" in page
    assert "1 décembre" not in page
    assert "Décembre" not in page
