from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Outbound webhooks (issue 16): signed deliveries of booking and messaging events.

    Booking and messaging must not import this app (it sits above them): it registers its
    listeners in their registries here, and they call them inside their own transactions.
    """

    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from booking import events
        from messaging import services as messaging
        from webhooks import services

        events.on_appointment_event(services.appointment_event)
        messaging.on_urgent_message(services.urgent_message)
