from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messaging")

    def dashboard_panels(self, request: HttpRequest, *, staff: bool) -> list:
        from portal.dashboard import Panel

        template = "messaging/panels/staff_inbox.html" if staff else "messaging/panels/client.html"
        return [Panel(template, order=30)]

    def websocket_urlpatterns(self) -> list:
        return []
