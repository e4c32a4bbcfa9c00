"""The demo clinic, "Clinique vétérinaire des Tilleuls": fictitious people, fixed so re-runs agree.

`manage.py seed_demo` calls `seed_demo(demo)` on every app config that has it, in app order, so
each app seeds its own tables (portal: clinic, team, clients; records: animals; ...).
"""

import base64
import hashlib
import random
from dataclasses import dataclass, field

DEMO_PASSWORD = "tilleuls-demo-2026"  # noqa: S105 - fictitious demo accounts, printed by make run
DEMO_DOMAIN = "example.com"


@dataclass
class Demo:
    rng: random.Random = field(default_factory=lambda: random.Random(1789))  # noqa: S311 - demo data
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, email, totp secret)
    facts: dict[str, object] = field(default_factory=dict)


def demo_totp_key(email: str) -> str:
    """A fixed 20-byte TOTP key per demo account (hex, as django-otp stores it)."""
    return hashlib.sha256(f"accueil-demo:{email}".encode()).hexdigest()[:40]


def base32_of(hex_key: str) -> str:
    return base64.b32encode(bytes.fromhex(hex_key)).decode()


STAFF = [
    ("manager", "Hélène", "Marchand", "direction"),
    ("reception", "Sophie", "Lemoine", "accueil"),
    ("reception", "Julien", "Roux", "accueil2"),
    ("vet", "Claire", "Dubois", "dr.dubois"),
    ("vet", "Antoine", "Fontaine", "dr.fontaine"),
    ("vet", "Nadia", "Benali", "dr.benali"),
]

CLIENTS = [
    ("Camille", "Martin"),
    ("Lucas", "Bernard"),
    ("Léa", "Thomas"),
    ("Hugo", "Petit"),
    ("Chloé", "Robert"),
    ("Louis", "Richard"),
    ("Manon", "Durand"),
    ("Gabriel", "Moreau"),
    ("Inès", "Laurent"),
    ("Arthur", "Simon"),
    ("Jade", "Michel"),
    ("Raphaël", "Lefèvre"),
    ("Louise", "Leroy"),
    ("Jules", "Garnier"),
    ("Alice", "Faure"),
    ("Adam", "Rousseau"),
    ("Lina", "Blanc"),
    ("Noah", "Guérin"),
    ("Emma", "Muller"),
    ("Paul", "Henry"),
]


def client_email(first: str, last: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
    return f"{plain.lower()}@{DEMO_DOMAIN}"
