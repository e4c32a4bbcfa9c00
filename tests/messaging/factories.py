"""Messaging factories: conversations posted through the real services (encrypted, numbered)."""

from messaging import services
from messaging.models import Conversation
from portal.models import User


def make_conversation(
    client_user: User, *, subject: str = "Question", body: str = "Bonjour", patient=None
) -> Conversation:
    posted = services.start_conversation(
        client=client_user.client, author=client_user, subject=subject, body=body, patient=patient
    )
    return posted.conversation
