"""Who may enter closures and time off: the manager always; vets their own time off and
reception anyone's when the booking rules say so; reception closures when they say so."""

import pytest
from django.urls import reverse

from booking.models import BookingRules, Closure, TimeOff
from tests.booking.conftest import DAY
from tests.booking.factories import at

# The clock stands at NOW, the Friday before DAY at 10:00 in Paris (tests/booking/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen")


def set_rules(*, time_off: bool, closures: bool) -> None:
    rules = BookingRules.objects.get(pk=BookingRules.current().pk)
    rules.team_enters_time_off = time_off
    rules.reception_enters_closures = closures
    rules.save()


def closure_post() -> dict:
    return {
        "kind": "closure",
        "closure-start": DAY.isoformat(),
        "closure-end": DAY.isoformat(),
        "closure-label": "Pont",
    }


def time_off_post(practitioner) -> dict:
    return {
        "kind": "timeoff",
        "timeoff-practitioner": practitioner.pk,
        "timeoff-start": f"{DAY.isoformat()}T14:00",
        "timeoff-end": f"{DAY.isoformat()}T18:00",
        "timeoff-reason": "",
    }


# role, team enters time off, reception enters closures ->
#   page shown, closure allowed, own time off allowed, someone else's time off allowed
CASES = [
    ("manager", False, False, True, True, True, True),
    ("manager", True, True, True, True, True, True),
    ("reception", True, True, True, True, True, True),
    ("reception", True, False, True, False, True, True),
    ("reception", False, True, True, True, False, False),
    ("reception", False, False, False, False, False, False),
    ("vet", True, True, True, False, True, False),
    ("vet", True, False, True, False, True, False),
    ("vet", False, True, False, False, False, False),
    ("vet", False, False, False, False, False, False),
]


@pytest.mark.parametrize(
    ("role", "team_time_off", "reception_closures", "page", "closure", "own", "others"), CASES
)
def test_each_role_enters_what_the_rules_allow(
    request,
    rules,
    dubois,
    fontaine,
    role,
    team_time_off,
    reception_closures,
    page,
    closure,
    own,
    others,
):
    set_rules(time_off=team_time_off, closures=reception_closures)
    http = request.getfixturevalue(f"as_{role}")
    # The vet fixture is Dr Dubois's account: "own" time off is Dubois's.
    shown = http.get(reverse("booking:hours"))
    assert shown.status_code == (200 if page else 403)
    if not page:
        assert "ask them" in shown.content.decode()

    response = http.post(reverse("booking:hours"), closure_post())
    assert Closure.objects.exists() == closure
    if not closure:
        assert response.status_code == 403
        assert "Clinic closures are entered by the manager" in response.content.decode()

    http.post(reverse("booking:hours"), time_off_post(dubois))
    assert TimeOff.objects.filter(practitioner=dubois).exists() == own

    response = http.post(reverse("booking:hours"), time_off_post(fontaine))
    assert TimeOff.objects.filter(practitioner=fontaine).exists() == others
    if own and not others:
        # A vet's form offers only themselves: another vet's name is not a valid choice.
        assert response.status_code == 400
        assert "Dr Fontaine" not in shown.content.decode().split('name="timeoff-practitioner"')[1]


def test_a_vet_cannot_remove_another_vets_time_off(as_vet, rules, fontaine, dubois):
    theirs = TimeOff.objects.create(practitioner=fontaine, start=at(DAY, 9), end=at(DAY, 12))
    mine = TimeOff.objects.create(practitioner=dubois, start=at(DAY, 14), end=at(DAY, 16))
    page = as_vet.get(reverse("booking:hours")).content.decode()
    assert "Dr Fontaine" not in page
    refused = as_vet.post(reverse("booking:hours"), {"kind": "timeoff", "delete": theirs.pk})
    assert refused.status_code == 403
    assert TimeOff.objects.filter(pk=theirs.pk).exists()
    as_vet.post(reverse("booking:hours"), {"kind": "timeoff", "delete": mine.pk})
    assert not TimeOff.objects.filter(pk=mine.pk).exists()
    url = reverse("booking:absence", args=["timeoff", theirs.pk])
    assert as_vet.get(url).status_code == 403


def test_only_the_manager_sets_weekly_hours(as_reception, as_vet, rules, dubois):
    post = {
        "kind": "weekly",
        "weekly-practitioner": dubois.pk,
        "weekly-weekday": 5,
        "weekly-start": "20:00",
        "weekly-end": "21:00",
    }
    for http in (as_reception, as_vet):
        response = http.post(reverse("booking:hours"), post)
        assert response.status_code == 403
        assert "Opening hours are set by the manager" in response.content.decode()
        assert "Add weekly hours" not in http.get(reverse("booking:hours")).content.decode()


def test_a_client_never_sees_the_page(as_client, rules):
    assert as_client.get(reverse("booking:hours")).status_code == 403


def test_the_manager_sets_who_may_on_the_booking_rules_page(as_manager, as_reception, rules):
    page = as_manager.get(reverse("booking:rules")).content.decode()
    assert 'name="team_enters_time_off"' in page
    assert 'name="reception_enters_closures"' in page
    as_manager.post(
        reverse("booking:rules"),
        {
            "horizon_days": 60,
            "min_notice_minutes": 120,
            "slot_step_minutes": 15,
            "cutoff_hours": 24,
            "max_upcoming": 5,
            "team_enters_time_off": "on",
        },
    )
    saved = BookingRules.current()
    assert saved.team_enters_time_off
    assert not saved.reception_enters_closures
    assert as_reception.post(reverse("booking:hours"), closure_post()).status_code == 403


def test_the_agenda_links_the_team_to_the_page_when_allowed(as_vet, rules):
    set_rules(time_off=True, closures=False)
    assert reverse("booking:hours") in as_vet.get(reverse("booking:agenda")).content.decode()
    set_rules(time_off=False, closures=False)
    assert reverse("booking:hours") not in as_vet.get(reverse("booking:agenda")).content.decode()
