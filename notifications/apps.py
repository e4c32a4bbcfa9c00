from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def phone_changed(self, client) -> list:
        """portal's profile page says a client's mobile changed: the mark "checked" was for the
        old number; the consent journal says so."""
        from notifications.services import phone_changed

        phone_changed(client)
        return []

    def dashboard_panels(self, request: HttpRequest, *, staff: bool) -> list:
        from datetime import timedelta

        from django.utils import timezone

        from notifications.models import Notification, Status
        from notifications.services import month_sms_usage
        from portal.dashboard import Panel

        if staff:
            failed = Notification.objects.filter(
                status=Status.FAILED, scheduled_at__gte=timezone.now() - timedelta(days=7)
            ).count()
            return [
                Panel(
                    "notifications/panels/staff.html",
                    order=60,
                    context={"usage": month_sms_usage(), "failed": failed},
                )
            ]
        return [Panel("notifications/panels/client.html", order=80)]

    def nav_links(self, user) -> list:
        from django.urls import reverse

        from portal.dashboard import NavLink

        if user.is_clinic_staff:
            return [NavLink(_("Outbox"), reverse("notifications:outbox"), order=40)]
        return [NavLink(_("Notifications"), reverse("notifications:preferences"), order=40)]

    def client_panels(self, request: HttpRequest, client) -> list:
        from notifications.services import preference_for
        from portal.dashboard import Panel

        # The e-mail address's state: reception sees a bounce before promising an e-mail.
        preference = preference_for(client)
        return [
            Panel(
                "notifications/panels/staff_client.html",
                order=40,
                context={"email_bounced": not preference.email_valid, "preference": preference},
            )
        ]

    def seed_demo(self, demo) -> None:
        from notifications.seed import seed_notifications

        seed_notifications(demo)
