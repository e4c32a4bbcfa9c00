"""The seam between portal and the apps' panels is checked, not trusted.

A panel template may read `panel` (its template, order and the context its app gave it), what
every page has (the context processors: user, clinic, request, csrf_token, …) and, on a client's
page, `client`. Anything else renders as nothing, silently: the staff's client page once said
"no upcoming appointment" for a client who had one, because its panel read `upcoming` instead of
`panel.context.upcoming`.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.template import engines
from django.test import RequestFactory, override_settings

from portal.dashboard import Panel
from portal.lib.app_hooks import gather
from tests import factories
from tests.booking.factories import at, make_appointment, make_practitioner, make_service
from tests.messaging.factories import make_conversation
from tests.portal.template_names import Read, reads, reads_in_source
from tests.waitlist.factories import make_entry

PARIS = ZoneInfo("Europe/Paris")
MONDAY_MORNING = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
PANEL_FIELDS = {"template", "order", "context"}
LITERALS = {"True", "False", "None"}
MISSING = "§MISSING§"


@pytest.fixture(autouse=True)
def _monday_morning():
    """Every test here happens on MONDAY_MORNING, logins included (a session opened at another
    instant of the suite's clock would have expired by then)."""
    with time_machine.travel(MONDAY_MORNING, tick=False):
        yield


@pytest.fixture
def busy_client(client_user, site):
    """A client with something in every app: an animal, an appointment, a conversation, an entry
    on the waitlist (panels that show nothing when empty must be there to be checked)."""
    with time_machine.travel(MONDAY_MORNING, tick=False):
        client = client_user.client
        filou = factories.make_patient(client, name="Filou")
        vet = make_practitioner(site)
        service = make_service(site, [vet], name="Vaccination")
        make_appointment(
            client=client,
            patient=filou,
            service=service,
            practitioner=vet,
            starts_at=at(date(2026, 12, 1), 10, 30),
        )
        make_conversation(client_user, subject="Vermifuge", patient=filou)
        make_entry(client, filou, service, earliest=date(2026, 12, 1))
    return client


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    request.session = {}
    return request


def _page_names(request) -> set[str]:
    """What every page's context holds: the names the context processors give."""
    engine = engines["django"].engine
    names = set(LITERALS)
    for processor in engine.template_context_processors:
        names |= set(processor(request))
    return names


def _undeclared(panel: Panel, allowed: set[str]) -> list[Read]:
    wrong = []
    for read in reads(panel.template):
        root = read.lookups[0]
        if root == "panel":
            field = read.lookups[1] if len(read.lookups) > 1 else ""
            key = read.lookups[2] if len(read.lookups) > 2 else ""
            if field not in PANEL_FIELDS or (field == "context" and key not in panel.context):
                wrong.append(read)
        elif root not in allowed:
            wrong.append(read)
    return wrong


def _panels(hook: str, user, *args, **kwargs) -> tuple[object, list[Panel]]:
    request = _request(user)
    with time_machine.travel(MONDAY_MORNING, tick=False):
        return request, gather(hook, request, *args, **kwargs)


def test_the_check_sees_a_name_read_inside_an_if_or_a_for():
    found = {
        read.lookups
        for read in reads_in_source(
            "{% load i18n %}{% if upcoming %}{% for a in upcoming %}{{ a.pk }}"
            "{{ forloop.counter }}{% endfor %}{% endif %}"
            "{% blocktranslate with n=panel.context.count %}{{ n }} {{ who }}"
            "{% endblocktranslate %}{% url 'booking:detail' pk %}"
        )
    }

    assert found == {("upcoming",), ("panel", "context", "count"), ("who",), ("pk",)}


def test_the_check_refuses_a_panel_context_key_the_app_did_not_give():
    panel = Panel("messaging/panels/staff_client.html", context={"conversations": []})

    wrong = {read.lookups for read in _undeclared(panel, allowed={"client"})}

    assert ("panel", "context", "recent") in wrong


@pytest.mark.django_db
def test_every_client_page_panel_reads_only_what_it_was_given(busy_client, reception):
    request, panels = _panels("client_panels", reception, busy_client)
    allowed = _page_names(request) | {"client"}

    apps_with_a_panel = {panel.template.split("/")[0] for panel in panels}
    assert apps_with_a_panel == {
        "records",
        "booking",
        "waitlist",
        "messaging",
        "notifications",
        "privacy",
    }
    problems = {panel.template: _undeclared(panel, allowed) for panel in panels}
    assert {name: reads for name, reads in problems.items() if reads} == {}


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["reception", "vet", "manager"])
def test_every_staff_dashboard_panel_reads_only_what_it_was_given(busy_client, who, request):
    user = request.getfixturevalue(who)
    http_request, panels = _panels("dashboard_panels", user, staff=True)
    allowed = _page_names(http_request)

    problems = {panel.template: _undeclared(panel, allowed) for panel in panels}
    assert {name: reads for name, reads in problems.items() if reads} == {}


@pytest.mark.django_db
def test_every_client_dashboard_panel_reads_only_what_it_was_given(busy_client, client_user):
    http_request, panels = _panels("dashboard_panels", client_user, staff=False)
    allowed = _page_names(http_request)

    assert len(panels) >= 4
    problems = {panel.template: _undeclared(panel, allowed) for panel in panels}
    assert {name: reads for name, reads in problems.items() if reads} == {}


def _with_marker():
    """Renders a missing name as MISSING instead of nothing (what {{ }} of a missing name does;
    {% if %} and {% for %} stay silent, hence the walk above)."""
    templates = [
        dict(engine, OPTIONS=dict(engine["OPTIONS"], string_if_invalid=MISSING))
        for engine in settings.TEMPLATES
    ]
    return override_settings(TEMPLATES=templates)


@pytest.mark.django_db
def test_the_pages_made_of_panels_render_no_missing_name(busy_client, as_reception, as_client):
    with _with_marker(), time_machine.travel(MONDAY_MORNING, tick=False):
        pages = {
            "staff client page": as_reception.get(f"/staff/clients/{busy_client.pk}/"),
            "staff dashboard": as_reception.get("/"),
            "client dashboard": as_client.get("/"),
        }

    for name, response in pages.items():
        assert response.status_code == 200, name
        body = response.content.decode()
        assert MISSING not in body, f"{name}: {body[body.find(MISSING) - 200 : body.find(MISSING)]}"
