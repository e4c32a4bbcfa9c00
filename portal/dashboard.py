"""The dashboards, the staff's client page and the menu are made of what each app contributes.

An app's AppConfig may define `dashboard_panels(request, *, staff)` (panels on the dashboards),
`client_panels(request, client)` (panels on a client's page for staff) and `nav_links(user)`
(links in the header's menu); see portal/lib/app_hooks.py.

A panel's template reads what its app put in `panel.context` (as `panel.context.<name>`), what
every page has (the context processors: `user`, `clinic`, `request`, `csrf_token`, …) and, on a
client's page, `client`: nothing else. tests/portal/test_panels.py walks every panel template
and fails on any other name, including inside `{% if %}` and `{% for %}` where a missing name
renders as nothing.
"""

from dataclasses import dataclass, field

from django.http import HttpRequest

from portal.lib.app_hooks import gather


@dataclass(frozen=True)
class Panel:
    template: str
    order: int = 50
    context: dict[str, object] = field(default_factory=dict)


def collect_panels(request: HttpRequest, *, staff: bool) -> list[Panel]:
    return sorted(gather("dashboard_panels", request, staff=staff), key=lambda p: p.order)


def collect_client_panels(request: HttpRequest, client: object) -> list[Panel]:
    return sorted(gather("client_panels", request, client), key=lambda p: p.order)


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    order: int = 50


def collect_nav_links(user: object) -> list[NavLink]:
    return sorted(gather("nav_links", user), key=lambda link: link.order)
