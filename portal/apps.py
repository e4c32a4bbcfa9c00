from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self) -> None:
        from portal.lib import converters

        # Before any URLconf (HTTP or websocket routes) is read: every app's URLs use `<id:…>`.
        converters.register()

    def dashboard_panels(self, request: HttpRequest, *, staff: bool) -> list:
        from portal.dashboard import Panel

        if staff:
            return [Panel("portal/panels/staff_shortcuts.html", order=90)]
        return [Panel("portal/panels/client_contact.html", order=90)]

    def seed_demo(self, demo) -> None:
        from portal.seed import seed_portal

        seed_portal(demo)
