from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = _("Booking")

    def dashboard_panels(self, request: HttpRequest, *, staff: bool) -> list:
        from portal.dashboard import Panel

        template = (
            "booking/panels/staff_agenda.html" if staff else "booking/panels/client_next.html"
        )
        return [Panel(template, order=10)]
