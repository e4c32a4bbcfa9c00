from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders and renewals")
    # Prescriptions are stored encrypted: their data keys move with records' rotate_keys.
    wrapped_key_fields = [("Order", "prescription_key")]

    def ready(self) -> None:
        from notifications.contracts import register_subject_checker
        from orders.services import still_ready

        # "Ready" and its reminder are dropped if the request moved on before they went.
        register_subject_checker("order", still_ready)

    def nav_links(self, user) -> list:
        from django.urls import reverse

        from portal.dashboard import NavLink

        if user.is_clinic_staff:
            return [NavLink(_("Orders"), reverse("orders:queue"), order=35)]
        return [NavLink(_("Orders"), reverse("orders:mine"), order=25)]

    def dashboard_panels(self, request: HttpRequest, *, staff: bool) -> list:
        from orders.panels import client_panel, staff_panel

        return [staff_panel(request)] if staff else [client_panel(request)]

    def patient_panels(self, request: HttpRequest, link) -> list:
        """On the client's page of an animal (records): its current treatments, to renew."""
        from orders.panels import patient_panel

        return [patient_panel(request, link)]

    def seed_demo(self, demo) -> None:
        from orders.seed import seed_orders

        seed_orders(demo)
