"""The access log's hash chain and its retention.

Each line stores the hash of the line before it (`prev_hash`) and its own (`row_hash`: sha256
over its canonical fields and `prev_hash`), so a line deleted or altered later breaks the chain
at that point and `manage.py verify_access_log` names it. The chain follows the primary key:
inserts are serialised (`lock_chain`) so two writers never hang their lines on the same parent.

Retention removes the oldest lines only (a prefix of the chain), never a line younger than
`FLOOR`: after a purge, the oldest remaining line's `prev_hash` is the chain's anchor.
"""

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

# The lock every writer of the chain takes on PostgreSQL (pg_advisory_xact_lock's key): any
# fixed 64-bit number, the same in every process. "ACCLOG" in ASCII.
CHAIN_LOCK_KEY = 0x4143434C4F47
# No purge, whatever the setting, removes a line younger than this (the database enforces it
# too: see portal/migrations/0006_access_log_chain.py).
FLOOR = timedelta(days=30)
# What a line's hash covers, in this order.
FIELDS = ("at", "user_id", "action", "object_type", "object_id", "detail", "ip", "user_agent")


def _canonical_at(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical_ip(ip: str | None) -> str:
    # PostgreSQL's inet type prints addresses its own way (lower case, compressed): hash the
    # address, not the spelling it arrived with.
    if not ip:
        return ""
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return ip


def row_hash(values: dict[str, Any], prev_hash: str) -> str:
    """sha256 over a line's canonical fields and its parent's hash (hex)."""
    canonical = [
        _canonical_at(values["at"]),
        values["user_id"],
        values["action"],
        values["object_type"],
        values["object_id"],
        values["detail"],
        _canonical_ip(values["ip"]),
        values["user_agent"],
        prev_hash,
    ]
    payload = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def lock_chain() -> None:
    """Serialise writers of the chain until the current transaction ends.

    Two writers reading the same last line would both hang their line on it and fork the chain.
    PostgreSQL: a transaction-level advisory lock (a row lock on "the last line" would not do:
    a writer waiting on it would still see the old last line once it got it). SQLite: every
    transaction already holds the write lock from its start (transaction_mode=IMMEDIATE)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])


@dataclass(frozen=True)
class Break:
    pk: int
    reason: str  # "altered": the line is not what was written; "missing": lines before it gone

    def __str__(self) -> str:
        if self.reason == "altered":
            return f"line {self.pk} was altered after it was written"
        return f"lines were removed just before line {self.pk}"


@dataclass(frozen=True)
class Verdict:
    checked: int
    first: int | None
    broken: Break | None


def verify() -> Verdict:
    """Walk the chain from its oldest line; stop at the first broken link.

    The oldest remaining line's `prev_hash` is taken as the anchor (older lines may have been
    purged by retention), so removing lines from the very start is not detected here — the
    retention floor and database privileges guard that end."""
    from portal.models import AccessLog

    checked = 0
    first = None
    previous: str | None = None
    rows = AccessLog.objects.order_by("pk").values("pk", "prev_hash", "row_hash", *FIELDS)
    for row in rows.iterator(chunk_size=2000):
        if first is None:
            first = row["pk"]
        elif row["prev_hash"] != previous:
            return Verdict(checked, first, Break(row["pk"], "missing"))
        if row_hash(row, row["prev_hash"]) != row["row_hash"]:
            return Verdict(checked, first, Break(row["pk"], "altered"))
        previous = row["row_hash"]
        checked += 1
    return Verdict(checked, first, None)


def retention_cutoff(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return now - timedelta(days=settings.ACCESS_LOG_RETENTION_DAYS)


def purge(now: datetime | None = None) -> int:
    """Remove lines older than the retention period; the number removed.

    Only a prefix of the chain goes: lines older than the cutoff up to the first line that is not,
    so a line written with an older time after a newer one (a clock step) stays until its turn.
    PostgreSQL: through accueil_purge_access_log(), which runs as the table's owner (the app's
    role has no DELETE on the table) and keeps lines younger than FLOOR whatever it is asked.
    SQLite: the same rule here, and the delete trigger refuses lines younger than FLOOR."""
    cutoff = retention_cutoff(now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT accueil_purge_access_log(%s)", [cutoff])
            return int(cursor.fetchone()[0])
        floor = min(cutoff, timezone.now() - FLOOR)
        value = connection.ops.adapt_datetimefield_value(floor)
        cursor.execute(
            "DELETE FROM portal_accesslog WHERE at < %s AND id < coalesce("
            "(SELECT min(id) FROM portal_accesslog WHERE at >= %s), 9223372036854775807)",
            [value, value],
        )
        return cursor.rowcount
