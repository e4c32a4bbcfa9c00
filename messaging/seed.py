"""Demo conversations: a few threads in French, one urgent, one answered; quick replies."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from messaging import services
from messaging.models import Conversation, QuickReply
from portal.models import Role, User

QUICK_REPLIES = [
    ("Merci", "Merci pour votre message, nous revenons vers vous dans la journée."),
    (
        "Rendez-vous",
        "Le mieux est de prendre rendez-vous : vous pouvez le faire depuis votre espace.",
    ),
    ("Photo", "Pourriez-vous nous envoyer une photo nette de la zone concernée ?"),
]

THREADS = [
    (
        "Vaccin annuel",
        "Bonjour, le rappel de vaccin est-il bientôt dû ?",
        "Bonjour, oui : le mois prochain. Vous pouvez réserver en ligne.",
    ),
    ("Perte d'appétit", "Il mange moins depuis deux jours, faut-il s'inquiéter ?", None),
    ("Urgence", "Mon chien saigne de la patte après une balade.", None),
]


@transaction.atomic
def seed_messaging(demo) -> None:
    for position, (title, body) in enumerate(QUICK_REPLIES):
        QuickReply.objects.get_or_create(title=title, defaults={"body": body, "position": position})
    vet = User.objects.filter(role=Role.VET).order_by("pk").first()
    clients = [c for c in demo.facts["clients"] if c.user_id][: len(THREADS)]
    now = timezone.now()
    for index, (client, (subject, question, answer)) in enumerate(
        zip(clients, THREADS, strict=False)
    ):
        if Conversation.objects.filter(client=client, subject=subject).exists():
            continue  # idempotent: a re-run leaves the demo as it was
        patient = client.patients.order_by("pk").first()
        when = now - timedelta(hours=5 - index)
        posted = services.start_conversation(
            client=client,
            author=client.user,
            subject=subject,
            body=question,
            patient=patient,
            now=when,
            client_token=f"demo-{index}",
        )
        if answer and vet is not None:
            services.post_message(
                conversation_id=posted.conversation.pk,
                author=vet,
                body=answer,
                now=when + timedelta(minutes=42),
                client_token=f"demo-{index}-answer",
            )
