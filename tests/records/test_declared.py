"""Clients add and edit their animals (issue 12): "declared by the owner" until staff confirm
them at the first visit, when a young animal gets its species' first vaccination proposed."""

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from PIL import Image

from portal.models import AccessLog, Duties
from records import services
from records.forms import OwnerPatientForm, age_in_months
from records.models import CareDue, Guardianship, Patient
from records.protocols import first_vaccinations
from tests import factories

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
# A Monday morning in Paris; "today" is 30 November 2026 for every test here.
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
TODAY = NOW.date()
CHIP = "250 26 9604 123456"  # 15 digits once the spaces are gone


@pytest.fixture(autouse=True)
def _frozen_clock():
    """Every test here happens at NOW, logins included (a session opened at another instant
    would have expired by then). Forms used outside a request speak English; pages speak what
    the request asks."""
    with time_machine.travel(NOW, tick=False), translation.override("en"):
        yield


def png(name: str = "pet.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "orange").save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), "image/png")


def animal(**fields) -> dict:
    data = {
        "name": "Pistache",
        "species": "dog",
        "breed": "Berger australien",
        "sex": "f",
        "birth_date": "2026-09-01",
        "age_years": "",
        "age_months": "",
        "microchip": "",
    }
    data.update(fields)
    return data


def new_url(**query) -> str:
    url = reverse("records:animal_new")
    return f"{url}?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else url


def form(data: dict, **kwargs) -> OwnerPatientForm:
    bound = OwnerPatientForm(data, **kwargs)
    bound.is_valid()
    return bound


def declared(client_user, **fields) -> Patient:
    data = {"name": "Pistache", "species": "dog", "sex": "f", "birth_date": date(2026, 9, 1)}
    data.update(fields)
    return services.declare_patient(client=client_user.client, data=data, by=client_user)


# --- The form: identification, birth date or age, person ------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (CHIP, "250269604123456"),
        ("abc123", "ABC123"),
        ("AB 1234", "AB1234"),
        ("123 abc", "123ABC"),
        ("1234-XY", "1234XY"),
    ],
)
def test_it_accepts_a_chip_or_a_french_tattoo_and_keeps_it_normalised(clinic, typed, kept):
    bound = form(animal(microchip=typed))
    assert bound.errors == {}
    assert bound.cleaned_data["microchip"] == kept


@pytest.mark.parametrize(
    "typed", ["25026960412345", "2502696041234567", "A123", "ABCD123", "AB12", "12AB34", "AB12345"]
)
def test_it_refuses_an_identification_number_in_no_known_format_and_says_the_formats(clinic, typed):
    bound = form(animal(microchip=typed))
    assert "15 digits" in bound.errors["microchip"][0]
    assert "ABC123" in bound.errors["microchip"][0]


def test_it_refuses_an_identification_number_another_animal_has(clinic, other_client_user):
    factories.make_patient(other_client_user, name="Rex", microchip="250269604123456")
    bound = form(animal(microchip=CHIP))
    assert bound.errors["microchip"] == [
        "This identification number is already registered for another animal: call the clinic."
    ]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"birth_date": "2026-12-01"}, "birth_date", "cannot be in the future"),
        ({"birth_date": "1989-12-31"}, "birth_date", "before 1990"),
        ({"birth_date": "", "age_years": "41"}, "age_years", "over 40 years"),
        ({"birth_date": "", "age_months": "12"}, "age_months", "less than or equal to 11"),
        ({"birth_date": ""}, "birth_date", "approximate age"),
        ({"birth_date": "31/02/2026"}, "birth_date", "valid date"),
    ],
)
def test_it_refuses_an_impossible_birth_date_or_age(clinic, fields, field, words):
    bound = form(animal(**fields))
    assert words in " ".join(bound.errors[field])


def test_an_approximate_age_becomes_an_estimated_birth_date(clinic):
    bound = form(animal(birth_date="", age_years="2", age_months="3"))
    assert bound.errors == {}
    assert bound.cleaned_data["birth_date"] == date(2024, 8, 30)
    assert bound.cleaned_data["birth_date_estimated"] is True
    assert age_in_months(date(2024, 8, 30), TODAY) == 27
    exact = form(animal(age_years="2"))  # a birth date wins over an age given as well
    assert exact.cleaned_data["birth_date"] == date(2026, 9, 1)
    assert exact.cleaned_data["birth_date_estimated"] is False


def test_a_parrot_or_a_person_may_be_older_than_a_dog(clinic, client_user):
    assert form(animal(species="bird", birth_date="1975-05-01")).errors == {}
    person = form(
        {"who": "self", "name": "", "sex": "f", "birth_date": "1950-05-01"},
        person=True,
        client=client_user.client,
    )
    assert person.errors == {}
    assert form(animal(species="dog", birth_date="1975-05-01")).errors


def test_the_person_form_has_no_breed_chip_nor_neutered_and_names_myself(clinic, client_user):
    bound = form(
        {"who": "self", "name": "", "sex": "f", "birth_date": "1990-04-02", "breed": "X"},
        person=True,
        client=client_user.client,
    )
    assert not {"species", "breed", "neutered", "microchip"} & set(bound.fields)
    assert bound.cleaned_data["name"] == "Camille Martin"
    assert bound.cleaned_data["species"] == "human"
    child = form(
        {"who": "child", "name": "", "sex": "m", "birth_date": "2019-04-02"},
        person=True,
        client=client_user.client,
    )
    assert child.errors == {"name": ["Give the name."]}


def test_the_animal_form_offers_no_person_and_suggests_the_species_breeds(clinic):
    bound = OwnerPatientForm(animal(species="cat"))
    assert "human" not in dict(bound.fields["species"].choices)
    assert "Maine coon" in bound.breed_suggestions
    assert "Labrador" not in bound.breed_suggestions
    assert "Labrador" in OwnerPatientForm().breed_suggestions  # no species yet: every breed


def test_it_refuses_a_file_that_is_not_a_photo(clinic):
    fake = SimpleUploadedFile("x.png", b"MZ\x90\x00 not an image at all", "image/png")
    bound = OwnerPatientForm(animal(), {"photo": fake})
    assert not bound.is_valid()
    assert "photo" in bound.errors


# --- The services ---------------------------------------------------------------------------------


def test_declare_patient_saves_a_declared_animal_with_the_client_as_owner(client_user):
    patient = services.declare_patient(
        client=client_user.client,
        data={**form(animal(microchip=CHIP, neutered="on")).cleaned_data, "unknown": 1},
        photo=png(),
        by=client_user,
    )
    patient.refresh_from_db()
    assert patient.declared_by_owner
    assert (patient.confirmed_at, patient.confirmed_by) == (None, None)
    assert (patient.microchip, patient.neutered, patient.breed) == (
        "250269604123456",
        True,
        "Berger australien",
    )
    assert patient.photo.name.endswith(".png.enc")
    link = Guardianship.objects.get(patient=patient)
    assert (link.client, link.role) == (client_user.client, Guardianship.Role.OWNER)


def test_declare_patient_keeps_no_animal_details_for_a_person(client_user):
    person = declared(client_user, species="human", breed="Labrador", microchip="AB123")
    assert (person.breed, person.microchip, person.neutered) == ("", "", False)


def test_declare_patient_rechecks_the_identification_inside_its_transaction(
    client_user, other_client_user
):
    factories.make_patient(other_client_user, name="Rex", microchip="AB123")
    with pytest.raises(services.IdentificationTaken):
        declared(client_user, microchip="AB123")
    assert not Patient.objects.filter(name="Pistache").exists()


def test_existing_patients_stay_confirmed_equivalent(client_user, patient):
    assert not patient.declared_by_owner
    assert list(Patient.objects.to_confirm()) == []


@pytest.mark.parametrize(
    ("species", "born", "expected"),
    [
        ("dog", date(2026, 10, 20), [("chpl", date(2026, 12, 15))]),  # 6 weeks: at 8 weeks
        ("dog", date(2026, 9, 1), [("chpl", TODAY)]),  # 13 weeks: now
        ("dog", date(2026, 8, 1), []),  # 17 weeks: not young any more
        ("cat", date(2026, 9, 15), [("typhus-coryza", TODAY)]),
        ("rabbit", date(2026, 10, 19), [("myxo-vhd", TODAY)]),  # 6 weeks: past its 5
        ("rabbit", date(2026, 9, 1), []),  # 13 weeks: past the rabbit's 10
        ("horse", date(2026, 11, 1), []),  # no plan for a foal: the vet's call
        ("dog", None, []),
    ],
)
def test_the_first_vaccination_plan_is_for_young_dogs_cats_and_rabbits(species, born, expected):
    assert first_vaccinations(species, born, TODAY) == expected


def test_confirming_a_puppy_proposes_its_first_vaccination_once(
    client_user, reception, notify, django_capture_on_commit_callbacks
):
    puppy = declared(client_user, birth_date=date(2026, 10, 1), birth_date_estimated=True)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = services.confirm_patient(patient=puppy, by=reception)
    assert not confirmed.declared_by_owner
    assert (confirmed.confirmed_by, confirmed.confirmed_at) == (reception, NOW)
    assert confirmed.protocol_suggested_at == NOW
    assert confirmed.birth_date_estimated  # not corrected: still the owner's estimate
    care = CareDue.objects.get(patient=puppy)
    assert (care.kind, care.subject, care.due_date) == ("vaccination", "chpl", TODAY)
    # Its reminder follows, like the care a recorded vaccination makes.
    notify.care_reminder.assert_called_once()
    assert notify.care_reminder.call_args.kwargs["client_ids"] == [client_user.client.pk]
    assert notify.care_reminder.call_args.kwargs["key"] == care.reminder_key
    services.confirm_patient(patient=puppy, by=reception)
    assert CareDue.objects.filter(patient=puppy).count() == 1


def test_confirming_with_a_corrected_birth_date_decides_on_that_date(client_user, reception):
    young_on_paper = declared(client_user, birth_date=date(2026, 10, 1), birth_date_estimated=True)
    confirmed = services.confirm_patient(
        patient=young_on_paper, by=reception, birth_date=date(2025, 10, 1)
    )
    assert (confirmed.birth_date, confirmed.birth_date_estimated) == (date(2025, 10, 1), False)
    assert confirmed.protocol_suggested_at is None
    assert not CareDue.objects.exists()


def test_a_young_animal_with_vaccinations_already_gets_no_protocol(client_user, reception, vet):
    kitten = declared(client_user, species="cat", birth_date=date(2026, 9, 15))
    services.record_vaccination(
        patient=kitten,
        practitioner=vet,
        vaccine="typhus-coryza",
        batch="",
        on=TODAY - timedelta(days=3),
        next_due=TODAY + timedelta(days=25),
        title="Typhus",
    )
    confirmed = services.confirm_patient(patient=kitten, by=reception)
    assert confirmed.protocol_suggested_at is None
    assert CareDue.objects.filter(patient=kitten).count() == 1


def test_an_owner_edit_after_the_confirmation_changes_nothing(client_user, reception):
    patient = declared(client_user)
    stale = Patient.objects.get(pk=patient.pk)
    services.confirm_patient(patient=patient, by=reception)
    with pytest.raises(services.AlreadyConfirmed):
        services.edit_declared_patient(
            patient=stale, data={"name": "Renamed", "species": "dog"}, by=client_user
        )
    patient.refresh_from_db()
    assert (patient.name, patient.declared_by_owner) == ("Pistache", False)
    # The photo stays the owner's to change, without undoing the confirmation.
    services.edit_declared_patient(patient=stale, data=None, photo=png(), by=client_user)
    patient.refresh_from_db()
    assert patient.photo
    assert not patient.declared_by_owner
    assert patient.confirmed_by == reception


# --- The owner's pages ----------------------------------------------------------------------------


def test_an_owner_adds_an_animal_and_sees_it_declared(as_client, client_user):
    page = as_client.get(reverse("records:my_animals")).content.decode()
    assert reverse("records:animal_new") in page
    form_page = as_client.get(reverse("records:animal_new")).content.decode()
    assert 'list="breed-list"' in form_page
    assert '<option value="Maine coon">' in form_page
    response = as_client.post(
        reverse("records:animal_new"), animal(microchip=CHIP, photo=png()), follow=True
    )
    patient = Patient.objects.get(name="Pistache")
    assert response.redirect_chain[-1][0] == reverse("records:animal", args=[patient.pk])
    page = response.content.decode()
    assert "Declared by you — the clinic will confirm at the first visit" in page
    assert reverse("records:animal_edit", args=[patient.pk]) in page
    mine = as_client.get(reverse("records:my_animals")).content.decode()
    assert "Declared by you — the clinic will confirm at the first visit" in mine
    assert patient.declared_by_owner
    assert patient.photo


def test_the_breed_list_follows_the_chosen_species(as_client):
    response = as_client.get(
        reverse("records:animal_new"),
        {"part": "breed", "species": "cat", "breed": "Sia"},
        HTTP_HX_REQUEST="true",
    )
    part = response.content.decode()
    assert "<html" not in part
    assert 'id="breed-field"' in part
    assert '<option value="Siamois">' in part
    assert "Labrador" not in part
    assert 'value="Sia"' in part
    page = as_client.get(reverse("records:animal_new")).content.decode()
    assert "part=breed" in page  # the species select asks for it


def test_bad_input_shows_the_error_and_saves_nothing_in_french(client_user, other_client_user):
    factories.make_patient(other_client_user, name="Rex", microchip="250269604123456")
    http = factories.http_client(client_user)
    cases = [
        (animal(birth_date="2027-01-01"), "La date de naissance ne peut pas être dans le futur."),
        (animal(birth_date="1985-01-01"), "avant 1990"),
        (animal(birth_date="", age_years="45"), "plus de 40 ans"),
        (animal(microchip="12345"), "15 chiffres"),
        (animal(microchip=CHIP), "déjà enregistré pour un autre animal : appelez la clinique"),
    ]
    for data, words in cases:
        response = http.post(reverse("records:animal_new"), data, HTTP_ACCEPT_LANGUAGE="fr")
        assert response.status_code == 400
        assert words in response.content.decode()
    assert list(Patient.objects.of_client(client_user.client)) == []


def test_the_pages_speak_french_by_default(client_user):
    http = factories.http_client(client_user)
    page = http.get(reverse("records:animal_new"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Ajouter un animal" in page
    assert "Âge approximatif" in page
    patient = declared(client_user)
    page = http.get(
        reverse("records:animal", args=[patient.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "Déclaré par vous — la clinique confirmera à la première visite" in page


def test_a_client_adds_themselves_as_a_person(as_client, client_user):
    page = as_client.get(new_url(**{"for": "person"})).content.decode()
    assert "Add a person" in page
    assert 'name="microchip"' not in page
    response = as_client.post(
        new_url(**{"for": "person"}), {"who": "self", "name": "", "sex": "f", "age_years": "36"}
    )
    assert response.status_code == 302
    person = Patient.objects.get(species="human")
    assert (person.name, person.birth_date, person.birth_date_estimated) == (
        "Camille Martin",
        date(1990, 11, 30),
        True,
    )


def test_an_owner_and_a_co_owner_edit_a_declared_animal(client_user, other_client_user):
    patient = declared(client_user)
    co_owner = factories.make_client_user(first_name="Sam", last_name="Martin")
    Guardianship.objects.create(
        patient=patient, client=co_owner.client, role=Guardianship.Role.CO_OWNER
    )
    url = reverse("records:animal_edit", args=[patient.pk])
    for user, name in ((client_user, "Pistache II"), (co_owner, "Pistou")):
        http = factories.http_client(user)
        page = http.get(url).content.decode()
        assert 'value="Pistache' in page or 'value="Pistache II"' in page
        response = http.post(url, animal(name=name, birth_date="", age_years="1"))
        assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.name, patient.birth_date, patient.birth_date_estimated) == (
        "Pistou",
        date(2025, 11, 30),
        True,
    )
    # The estimate comes back as an age, not as a date the owner never gave.
    page = factories.http_client(client_user).get(url).content.decode()
    assert 'name="age_years" value="1"' in page


def test_a_sitter_and_a_stranger_get_404_and_change_nothing(client_user, other_client_user):
    patient = declared(client_user)
    sitter = factories.make_client_user(first_name="Paul", last_name="Garde")
    Guardianship.objects.create(patient=patient, client=sitter.client, role="sitter")
    url = reverse("records:animal_edit", args=[patient.pk])
    for user in (sitter, other_client_user):
        http = factories.http_client(user)
        assert http.get(url).status_code == 404
        assert http.post(url, animal(name="Stolen")).status_code == 404
    patient.refresh_from_db()
    assert patient.name == "Pistache"
    denied = AccessLog.objects.filter(action=AccessLog.Action.DENIED, object_id=str(patient.pk))
    assert denied.count() == 4
    # The sitter still sees the animal, without the edit link.
    page = factories.http_client(sitter).get(reverse("records:animal", args=[patient.pk]))
    assert url not in page.content.decode()


def test_once_confirmed_the_owner_changes_only_the_photo(as_client, client_user, reception):
    patient = declared(client_user)
    services.confirm_patient(patient=patient, by=reception)
    url = reverse("records:animal_edit", args=[patient.pk])
    page = as_client.get(url).content.decode()
    assert 'name="name"' not in page
    assert "The clinic has confirmed these details" in page
    response = as_client.post(url, {"name": "Renamed", "photo": png()})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.name == "Pistache"
    assert patient.photo
    assert "Declared by you" not in as_client.get(reverse("records:my_animals")).content.decode()


def test_an_edit_posted_after_the_confirmation_changes_no_detail(as_client, client_user, reception):
    patient = declared(client_user)
    url = reverse("records:animal_edit", args=[patient.pk])
    as_client.get(url)
    services.confirm_patient(patient=patient, by=reception)
    response = as_client.post(url, animal(name="Late"))
    # The photo-only form takes the post: a name in it is not one of its fields.
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.name, patient.declared_by_owner) == ("Pistache", False)


def test_the_new_page_is_for_clients_only(as_reception, client):
    assert as_reception.get(reverse("records:animal_new")).status_code == 403
    assert client.get(reverse("records:animal_new")).status_code == 302  # to the sign-in


# --- Staff: the list, the confirmation, the panel -------------------------------------------------


def test_staff_list_what_owners_declared_in_bounded_queries(
    as_reception, client_user, other_client_user, patient, django_assert_max_num_queries
):
    for number in range(6):
        declared(client_user if number % 2 else other_client_user, name=f"Animal {number}")
    with django_assert_max_num_queries(12):
        response = as_reception.get(reverse("records:to_confirm"))
    page = response.content.decode()
    assert all(f"Animal {number}" in page for number in range(6))
    assert "Filou" not in page  # the clinic's own record
    assert "Camille Martin" in page
    assert "Bruno Lambert" in page


def test_a_client_cannot_open_the_staff_list(as_client):
    assert as_client.get(reverse("records:to_confirm")).status_code == 403


def test_reception_confirms_with_a_corrected_birth_date_and_it_is_logged(
    as_reception, reception, client_user
):
    puppy = declared(client_user, birth_date=date(2026, 6, 1), birth_date_estimated=True)
    page_url = reverse("records:staff_patient", args=[puppy.pk])
    page = as_reception.get(page_url).content.decode()
    assert "Declared by the owner" in page
    assert reverse("records:confirm_patient", args=[puppy.pk]) in page
    response = as_reception.post(
        reverse("records:confirm_patient", args=[puppy.pk]),
        {"confirm-birth_date": "2026-10-05"},
        follow=True,
    )
    puppy.refresh_from_db()
    assert not puppy.declared_by_owner
    assert (puppy.birth_date, puppy.birth_date_estimated) == (date(2026, 10, 5), False)
    page = response.content.decode()
    assert "Protocol suggested" in page
    assert "The first vaccination is proposed" in page
    assert CareDue.objects.get(patient=puppy).due_date == date(2026, 11, 30)
    log = AccessLog.objects.get(detail="confirm")
    assert (log.user, log.object_type, log.object_id) == (reception, "patient", str(puppy.pk))
    again = as_reception.post(
        reverse("records:confirm_patient", args=[puppy.pk]), {"confirm-birth_date": "2026-10-05"}
    )
    assert again.status_code == 302
    assert CareDue.objects.filter(patient=puppy).count() == 1


def test_a_future_birth_date_at_confirmation_confirms_nothing(as_reception, client_user):
    puppy = declared(client_user)
    response = as_reception.post(
        reverse("records:confirm_patient", args=[puppy.pk]), {"confirm-birth_date": "2027-01-01"}
    )
    assert response.status_code == 400
    assert "This date is in the future." in response.content.decode()
    puppy.refresh_from_db()
    assert puppy.declared_by_owner


def test_staff_without_the_clients_duty_and_clients_cannot_confirm(
    as_reception, as_client, client_user
):
    puppy = declared(client_user)
    Duties.objects.update_or_create(role="reception", defaults={"duties": ["appointments"]})
    cache.clear()
    url = reverse("records:confirm_patient", args=[puppy.pk])
    assert as_reception.post(url, {}).status_code == 403
    assert as_client.post(url, {}).status_code == 403
    puppy.refresh_from_db()
    assert puppy.declared_by_owner


def test_the_staff_panel_links_the_list_with_its_count(reception, client_user):
    declared(client_user)
    declared(client_user, name="Moka")
    request = RequestFactory().get("/")
    request.user = reception
    (panel,) = apps.get_app_config("records").dashboard_panels(request, staff=True)
    html = render_to_string(panel.template, {"panel": panel, "user": reception})
    assert reverse("records:to_confirm") in html
    assert "2 patients added online to confirm" in html


def test_the_seed_declares_one_puppy_once(notify, settings, tmp_path):
    from portal.demo import Demo

    settings.MEDIA_ROOT = tmp_path
    for _ in range(2):
        demo = Demo()
        for label in ("portal", "records"):
            apps.get_app_config(label).seed_demo(demo)
    (puppy,) = Patient.objects.to_confirm()
    assert puppy.birth_date_estimated
    assert not puppy.entries.exists()
    assert puppy not in demo.facts["patients"]
