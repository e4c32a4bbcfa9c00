"""The day strip and slots are rendered once and shared (``booking.views.Fragment``): never a
slot that was just booked, in French or in English; each client gets their own animal in it."""

import re
from unittest import mock

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from booking import views
from tests import factories
from tests.booking.conftest import DAY
from tests.booking.factories import at, make_appointment

# The clock stands at NOW, the Friday before DAY at 10:00 in Paris (tests/booking/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen")

HTMX = {"HX-Request": "true"}


def day_partial(http, patient, *, lang="en", **params):
    return http.get(
        reverse("booking:new"),
        {"patient": patient.pk, "service": "consultation", "day": DAY.isoformat(), **params},
        headers={**HTMX, "accept-language": lang},
    )


def times(response) -> list[str]:
    """The free times a person sees, as the buttons read."""
    return times_in(text(response))


def times_in(html: str) -> list[str]:
    return re.findall(r'<button type="submit" class="outline">(\d\d:\d\d)</button>', html)


def text(response) -> str:
    return response.content.decode()


def patients_named(html: str) -> set[str]:
    """Every animal id the fragment's links and slot buttons carry."""
    return set(re.findall(r"patient=(\w+)", html)) | set(
        re.findall(r'name="patient" value="(\w+)"', html)
    )


def anonymous(html: str) -> str:
    return re.sub(r'(patient=|name="patient" value=")\w+', r"\1#", html)


def book_by_post(http, patient, practitioner, start, capture):
    """As the client does it; the commit's callbacks run (the generation moves after commit)."""
    with capture(execute=True):
        response = http.post(
            reverse("booking:confirm"),
            {
                "patient": patient.pk,
                "service": "consultation",
                "practitioner": practitioner.pk,
                "start": int(start.timestamp()),
                "request_key": f"k-{start.timestamp()}",
            },
        )
    assert response.status_code == 302


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_slot_just_booked_is_never_shown_from_the_cache(
    as_client,
    filou,
    consultation,
    dubois,
    notify,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
    lang,
):
    other = "en" if lang == "fr" else "fr"
    shown = {
        language: day_partial(as_client, filou, lang=language, practitioner=dubois.pk)
        for language in (lang, other)
    }
    assert "09:00" in times(shown[lang])
    assert "09:00" in times(shown[other])
    with django_assert_max_num_queries(4):  # session, user, second factor, the animal: cached
        again = day_partial(as_client, filou, lang=lang, practitioner=dubois.pk)
    assert text(again) == text(shown[lang])

    book_by_post(as_client, filou, dubois, at(DAY, 9), django_capture_on_commit_callbacks)

    for language in (lang, other):
        after = times(day_partial(as_client, filou, lang=language, practitioner=dubois.pk))
        assert "09:00" not in after
        assert "09:15" not in after  # inside the new 30-minute appointment
        assert "09:30" in after


def test_the_fragment_speaks_each_language_whichever_was_cached_first(
    as_client, filou, consultation
):
    english = text(day_partial(as_client, filou, lang="en"))
    french = text(day_partial(as_client, filou, lang="fr"))
    assert "Monday 1 June" in english
    assert "Lundi 1er juin" in french
    assert "June" not in french


def test_the_cache_is_really_used_until_the_generation_moves(
    as_client, client_user, filou, consultation, dubois
):
    """Proof that the fragment is shared: a row written behind booking's back (no generation
    bump) is not seen until the generation moves, as booking's own writes do after commit."""
    assert "09:00" in times(day_partial(as_client, filou, practitioner=dubois.pk))
    make_appointment(
        client=client_user.client,
        patient=filou,
        service=consultation,
        practitioner=dubois,
        starts_at=at(DAY, 9),
    )
    assert "09:00" in times(day_partial(as_client, filou, practitioner=dubois.pk))
    views.slot_reader.invalidate()
    assert "09:00" not in times(day_partial(as_client, filou, practitioner=dubois.pk))


def test_two_clients_share_one_rendering_each_with_their_own_animal(
    as_client, as_other_client, other_client_user, filou, consultation, django_assert_num_queries
):
    rex = factories.make_patient(other_client_user, name="Rex")
    mine = text(day_partial(as_client, filou))
    assert patients_named(mine) == {str(filou.pk)}
    with django_assert_num_queries(4):
        theirs = text(day_partial(as_other_client, rex))
    assert patients_named(theirs) == {str(rex.pk)}
    assert views.PATIENT_MARK not in theirs
    assert anonymous(theirs) == anonymous(mine)
    # The full page takes the same fragment, with the client's own animal too.
    page = text(
        as_other_client.get(
            reverse("booking:new"),
            {"patient": rex.pk, "service": "consultation", "day": DAY.isoformat()},
        )
    )
    assert times_in(page) == times_in(mine)
    assert patients_named(page) == {str(rex.pk)}


def test_a_cached_fragment_is_no_way_into_another_clients_animal(
    as_client, as_other_client, filou, consultation
):
    assert day_partial(as_client, filou).status_code == 200
    assert day_partial(as_other_client, filou).status_code == 404


def test_an_animal_of_another_species_gets_its_own_fragment(
    as_client, client_user, filou, site, dubois
):
    from tests.booking.factories import make_service

    make_service(site, [dubois], slug="consultation", species="dog")
    cat = factories.make_patient(client_user, name="Pistache", species="cat")
    assert times(day_partial(as_client, filou))
    refused = text(day_partial(as_client, cat))
    assert "not offered for this animal" in refused
    assert not times(day_partial(as_client, cat))


def test_the_key_holds_the_language_the_time_zone_and_the_minute(client_user, filou, clinic):
    def key(lang="en", zone="Europe/Paris"):
        request = RequestFactory().get(
            "/booking/new/", {"patient": filou.pk, "service": "consultation"}
        )
        request.user = client_user
        with translation.override(lang), timezone.override(zone):
            return views._fragment_for(request).key

    assert key() == key()
    assert key("fr") != key("en")
    assert key(zone="America/Montreal") != key()
    first = key()
    import time_machine

    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=1), tick=False):
        assert key() != first


def test_odd_requests_are_answered_without_the_shared_cache(client_user, filou, clinic):
    def fragment(**params):
        request = RequestFactory().get("/booking/new/", params)
        request.user = client_user
        return views._fragment_for(request)

    assert fragment(service="consultation") is None  # no animal named: the default is personal
    assert fragment(patient="\uff11\uff12") is None  # digits, but not ASCII ones
    assert fragment(patient=filou.pk, day="tomorrow") is None
    assert fragment(patient=filou.pk, practitioner="x") is None
    assert fragment(patient=filou.pk + 1000) is None  # not theirs
    assert fragment(patient=filou.pk, service="consultation") is not None


def test_without_a_generation_the_page_is_computed_from_the_database(
    as_client, client_user, filou, consultation, dubois
):
    """A cache that cannot give the generation (down) means no cached read and no cached
    write: every answer comes from the rows as they are."""
    with mock.patch.object(views.slot_reader, "generation", return_value=None):
        assert "09:00" in times(day_partial(as_client, filou, practitioner=dubois.pk))
        make_appointment(
            client=client_user.client,
            patient=filou,
            service=consultation,
            practitioner=dubois,
            starts_at=at(DAY, 9),
        )
        assert "09:00" not in times(day_partial(as_client, filou, practitioner=dubois.pk))


def test_new_rules_reach_the_shared_fragment_at_once(
    as_client, as_manager, filou, consultation, dubois, rules
):
    """The rules are not in the key: the rules page moves the generation instead."""
    assert "09:15" in times(day_partial(as_client, filou, practitioner=dubois.pk))
    response = as_manager.post(
        reverse("booking:rules"),
        {
            "horizon_days": 60,
            "min_notice_minutes": 120,
            "slot_step_minutes": 30,
            "cutoff_hours": 24,
            "max_upcoming": 5,
            "team_enters_time_off": "on",
            "reception_enters_closures": "on",
        },
    )
    assert response.status_code == 302
    shown = times(day_partial(as_client, filou, practitioner=dubois.pk))
    assert "09:00" in shown
    assert "09:15" not in shown
    assert "09:30" in shown
