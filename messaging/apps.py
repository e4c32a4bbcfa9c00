from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        from messaging.services import message_still_unread
        from notifications.contracts import register_subject_checker

        # notifications asks, just before sending the offline notice, whether it still holds.
        register_subject_checker("message", message_still_unread)

    def dashboard_panels(self, request: HttpRequest, *, staff: bool) -> list:
        from messaging import views
        from portal.dashboard import Panel

        if staff:
            return [
                Panel(
                    "messaging/panels/staff_inbox.html",
                    order=30,
                    context=views.staff_panel_context(),
                )
            ]
        return [
            Panel(
                "messaging/panels/client.html",
                order=30,
                context=views.client_panel_context(request.user.client),
            )
        ]

    def websocket_urlpatterns(self) -> list:
        from django.conf import settings
        from django.urls import path

        from messaging import consumers

        patterns = [
            path(
                "ws/conversations/<int:conversation_id>/",
                consumers.ConversationConsumer.as_asgi(),
            ),
            path("ws/messages/inbox/", consumers.InboxConsumer.as_asgi()),
        ]
        if settings.ACCUEIL_BENCH_ECHO:
            patterns.append(path("ws/bench/echo/", consumers.EchoConsumer.as_asgi()))
        return patterns

    def seed_demo(self, demo) -> None:
        from messaging.seed import seed_messaging

        seed_messaging(demo)
