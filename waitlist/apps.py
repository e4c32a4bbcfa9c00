from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class WaitlistConfig(AppConfig):
    name = "waitlist"
    verbose_name = _("Waitlist")

    def ready(self) -> None:
        from booking.events import on_slot_released
        from notifications.contracts import register_subject_checker
        from waitlist.services import offer_still_valid, on_released

        on_slot_released(on_released)
        register_subject_checker("waitlist_offer", offer_still_valid)

    def dashboard_panels(self, request: HttpRequest, *, staff: bool) -> list:
        from waitlist.panels import client_panel, staff_panel

        panel = staff_panel(request) if staff else client_panel(request)
        return [panel] if panel is not None else []

    def client_panels(self, request: HttpRequest, client) -> list:
        """What the client waits for, on their page for staff (no panel when nothing)."""
        from portal.dashboard import Panel
        from waitlist.models import Entry

        entries = list(Entry.objects.of_client(client).waiting())
        if not entries:
            return []
        context = {"wait_entries": entries}
        return [Panel("waitlist/panels/staff_client.html", order=12, context=context)]

    def nav_links(self, user) -> list:
        from django.urls import reverse

        from portal.dashboard import NavLink

        if user.is_clinic_staff:
            return [NavLink(_("Waitlist"), reverse("waitlist:staff"), order=15)]
        # Next to "My appointments": where a client sees what they wait for and leaves the list.
        return [NavLink(_("Waitlist"), reverse("waitlist:mine"), order=12)]

    def seed_demo(self, demo) -> None:
        from waitlist.seed import seed_waitlist

        seed_waitlist(demo)
