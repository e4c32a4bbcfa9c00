"""API keys (one per integration) and the answers kept for ``Idempotency-Key`` retries.

A key's secret is never stored: only its sha256 (the token carries 256 random bits, so a plain
hash is enough; a slow password hash would cost every call) and a short prefix to recognise it
by on the keys page. The token is shown once, when the manager creates the key.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

TOKEN_PREFIX = "acc_"  # noqa: S105 - not a secret: recognisable in logs and by scanners
PREFIX_LENGTH = 12  # "acc_" and 8 characters: what the keys page shows


class Scope(models.TextChoices):
    SLOTS_READ = "slots:read", _("Read services and free slots")
    BOOK = "book", _("Book, move, cancel and confirm appointments; join the waitlist")
    CLIENTS_FIND = "clients:find", _("Find a client by phone or e-mail (first name, animals)")
    MESSAGES = "messages", _("Leave a message for the clinic")


class Channel(models.TextChoices):
    """Which booking rules the key's calls follow (booking's ``online`` flag)."""

    ONLINE = "online", _("Online rules (notice, horizon, online hours)")
    PHONE = "phone", _("Phone rules (as reception books by phone)")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_networks(text: str) -> list[str]:
    """The allow-list as typed (one CIDR or address per line or comma), normalised; refuses a
    line that is not a network."""
    networks = []
    for part in text.replace(",", "\n").split():
        try:
            networks.append(str(ipaddress.ip_network(part.strip(), strict=False)))
        except ValueError:
            raise ValidationError(
                _("“%(value)s” is not an IP address or network (e.g. 203.0.113.0/24).")
                % {"value": part}
            ) from None
    return networks


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def by_token(self, token: str) -> ApiKey | None:
        """The key whose hash matches; the lookup is by hash (an index), then the hashes are
        compared in constant time, so timing says nothing about how much of a guess was right."""
        digest = hash_token(token)
        key = self.select_related("created_by").filter(secret_hash=digest).first()
        if key is None or not secrets.compare_digest(key.secret_hash, digest):
            return None
        return key


class ApiKey(models.Model):
    """One integration's credential: its scopes, channel, allow-list, expiry and rate."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH, unique=True)
    secret_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(_("scopes"), default=list)
    channel = models.CharField(
        _("booking rules"), max_length=8, choices=Channel.choices, default=Channel.PHONE
    )
    allowed_networks = models.JSONField(_("allowed IP networks"), default=list, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(pgettext_lazy("API key", "revoked"), null=True, blank=True)
    rate_per_minute = models.PositiveIntegerField(_("calls per minute"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("API key")
        ordering = ["revoked_at", "-created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rate_per_minute__gte=1), name="api_key_rate_min"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(
        cls,
        *,
        name: str,
        scopes: list[str],
        channel: str,
        created_by,
        allowed_networks: list[str] | None = None,
        expires_at: datetime | None = None,
        rate_per_minute: int | None = None,
        now: datetime | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its token (the only time the token exists in clear)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            name=name.strip()[:100],
            prefix=token[:PREFIX_LENGTH],
            secret_hash=hash_token(token),
            scopes=sorted(set(scopes)),
            channel=channel,
            allowed_networks=allowed_networks or [],
            expires_at=expires_at,
            rate_per_minute=rate_per_minute or settings.ACCUEIL_API_RATE_PER_MINUTE,
            created_by=created_by,
            created_at=now or timezone.now(),
        )
        return key, token

    @property
    def online(self) -> bool:
        return self.channel == Channel.ONLINE

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def allows_ip(self, ip: str | None) -> bool:
        if not self.allowed_networks:
            return True
        if ip is None:
            return False
        address = ipaddress.ip_address(ip)
        return any(address in ipaddress.ip_network(net) for net in self.allowed_networks)

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def scope_labels(self) -> list[str]:
        return [str(Scope(s).label) for s in self.scopes if s in Scope.values]


class IdempotentRequest(models.Model):
    """A write made with an ``Idempotency-Key``: the answer a retry gets back.

    Unique per (API key, idempotency key): two identical requests racing both try to insert
    this row in the transaction that does the write, so the database lets one through and the
    other reads the first one's answer (docs/api.md, "Idempotency").
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    body_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="api_idempotency_unique")
        ]

    def __str__(self) -> str:
        return f"{self.api_key_id}:{self.key}"


def revoke(key: ApiKey, *, now: datetime | None = None) -> bool:
    """Revoke a key at once (its next call is refused); False when it already was. One UPDATE
    guarded on ``revoked_at IS NULL``: two managers clicking at once revoke it once."""
    now = now or timezone.now()
    done = ApiKey.objects.filter(pk=key.pk, revoked_at=None).update(revoked_at=now)
    return bool(done)
