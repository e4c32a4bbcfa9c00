"""The dashboards and the staff's client page are made of panels that each app contributes.

portal imports none of the other apps (the arrows point one way), so it asks the app registry:
an app whose AppConfig defines `dashboard_panels(request, *, staff)` adds its panels to the
dashboards, `client_panels(request, client)` adds its panels to a client's page for staff, and
`nav_links(user)` adds (label, url) pairs to the header's menu.
"""

from dataclasses import dataclass, field

from django.apps import apps
from django.http import HttpRequest


@dataclass(frozen=True)
class Panel:
    template: str
    order: int = 50
    context: dict[str, object] = field(default_factory=dict)


def collect_panels(request: HttpRequest, *, staff: bool) -> list[Panel]:
    panels: list[Panel] = []
    for config in apps.get_app_configs():
        contribute = getattr(config, "dashboard_panels", None)
        if contribute is not None:
            panels.extend(contribute(request, staff=staff))
    return sorted(panels, key=lambda panel: panel.order)


def collect_client_panels(request: HttpRequest, client: object) -> list[Panel]:
    panels: list[Panel] = []
    for config in apps.get_app_configs():
        contribute = getattr(config, "client_panels", None)
        if contribute is not None:
            panels.extend(contribute(request, client))
    return sorted(panels, key=lambda panel: panel.order)


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    order: int = 50


def collect_nav_links(user: object) -> list[NavLink]:
    links: list[NavLink] = []
    for config in apps.get_app_configs():
        contribute = getattr(config, "nav_links", None)
        if contribute is not None:
            links.extend(contribute(user))
    return sorted(links, key=lambda link: link.order)
