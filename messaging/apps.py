from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messaging")
    # Data keys wrapped by the master key, for records' rotate_keys and start-up check.
    wrapped_key_fields = [("Message", "body_key")]

    def ready(self) -> None:
        from messaging.services import message_still_unread, sms_reply
        from notifications.contracts import register_free_text_handler, register_subject_checker

        # notifications asks, just before sending the offline notice, whether it still holds.
        register_subject_checker("message", message_still_unread)
        # A text message a client sends that is no keyword becomes a message for the team.
        register_free_text_handler(sms_reply)

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
                "ws/conversations/<id:conversation_id>/",
                consumers.ConversationConsumer.as_asgi(),
            ),
            path("ws/messages/inbox/", consumers.InboxConsumer.as_asgi()),
        ]
        if settings.ACCUEIL_BENCH_ECHO:
            patterns.append(path("ws/bench/echo/", consumers.EchoConsumer.as_asgi()))
        return patterns

    def nav_links(self, user) -> list:
        from django.urls import reverse

        from portal.dashboard import NavLink

        if user.is_clinic_staff:
            return [NavLink(_("Inbox"), reverse("messaging:inbox"), order=20)]
        return [NavLink(_("Messages"), reverse("messaging:conversations"), order=30)]

    def client_panels(self, request: HttpRequest, client) -> list:
        from messaging.models import Conversation
        from portal.dashboard import Panel

        recent = list(
            Conversation.objects.of_client(client).select_related("patient").order_by("-pk")[:5]
        )
        return [Panel("messaging/panels/staff_client.html", order=30, context={"recent": recent})]

    def seed_demo(self, demo) -> None:
        from messaging.seed import seed_messaging

        seed_messaging(demo)
