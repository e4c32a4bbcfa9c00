from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = _("Booking")

    def ready(self) -> None:
        from booking.services import next_opening, still_valid
        from booking.sms_replies import appointment_reply
        from notifications.contracts import register_reply_handler, register_subject_checker
        from portal.lib.hours import set_opening_provider

        register_subject_checker("appointment", still_valid)
        # "OUI" / "NON" by text message to a reminder (notifications/replies.py).
        register_reply_handler("appointment", appointment_reply)
        set_opening_provider(next_opening)

    def dashboard_panels(self, request: HttpRequest, *, staff: bool) -> list:
        from booking.panels import client_panel, staff_panel, waiting_panel

        return [staff_panel(request), waiting_panel(request)] if staff else [client_panel(request)]

    def public_panels(self, request: HttpRequest) -> list:
        """On the clinic's public page: the week's hours and what newcomers can book."""
        from booking.public import public_panel

        return [public_panel(request)]

    def nav_links(self, user) -> list:
        from django.urls import reverse

        from portal.dashboard import NavLink

        if user.is_clinic_staff:
            return [NavLink(_("Agenda"), reverse("booking:agenda"), order=10)]
        return [
            NavLink(_("Book"), reverse("booking:new"), order=10),
            NavLink(_("My appointments"), reverse("booking:mine"), order=11),
        ]

    def client_panels(self, request: HttpRequest, client) -> list:
        from django.utils import timezone

        from booking.models import Appointment
        from portal.dashboard import Panel

        upcoming = Appointment.objects.upcoming_for(client, timezone.now())[:5]
        return [Panel("booking/panels/staff_client.html", order=10, context={"upcoming": upcoming})]

    def websocket_urlpatterns(self) -> list:
        from django.urls import path

        from booking import consumers

        return [path("ws/agenda/", consumers.AgendaConsumer.as_asgi())]

    def seed_demo(self, demo) -> None:
        from booking.seed import seed_booking

        seed_booking(demo)
