"""Demo: one client has a neighbour look after their animal as a pet-sitter.

Through the real services (invite, then accept), so the journal shows it as it would happen.
Running it again adds nothing: the link, once there, is left alone.
"""

from django.utils import timezone

from household import services
from portal.models import Client
from records.models import Guardianship


def seed_household(demo) -> None:
    pair = _demo_pair(demo.facts.get("clients") or [])
    if pair is None:
        return
    owner, sitter = pair
    patient = services.owned_patients(owner).first()
    if patient is None or Guardianship.objects.filter(patient=patient, client=sitter).exists():
        return
    now = timezone.now()
    invitation, _token = services.invite(
        inviter=owner,
        by=owner.user,
        email=sitter.user.email,
        role=Guardianship.Role.SITTER,
        patients=[patient],
        now=now,
    )
    services.accept(invitation=invitation, client=sitter, by=sitter.user, now=now)


def _demo_pair(clients: list[Client]) -> tuple[Client, Client] | None:
    """The first demo client (the one the README signs in as) and, as the sitter, the first of
    the later clients with an account and fewer than three animals of their own (a client has
    one to three). The first five clients carry the demo's history, orders and messages: the
    sitter is taken after them, so what they show does not change."""
    with_account = [client for client in clients if client.user_id]
    if len(with_account) < 2:
        return None
    owner = with_account[0]
    for client in with_account[5:]:
        owned = Guardianship.objects.filter(client=client, role=Guardianship.Role.OWNER)
        if owned.count() < 3:
            return owner, client
    return None
