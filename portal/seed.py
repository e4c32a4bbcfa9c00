from allauth.account.models import EmailAddress
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.demo import (
    CLIENTS,
    DEMO_DOMAIN,
    DEMO_PASSWORD,
    STAFF,
    Demo,
    base32_of,
    client_email,
    demo_totp_key,
)
from portal.models import Client, Clinic, Role, Site, User


@transaction.atomic
def seed_portal(demo: Demo) -> None:
    clinic = Clinic.objects.order_by("pk").first() or Clinic()
    clinic.name = "Clinique vétérinaire des Tilleuls"
    clinic.address = "12 avenue des Tilleuls\n69003 Lyon"
    clinic.phone = "+33478000000"
    clinic.emergency_phone = "+33478000099"
    clinic.email = f"contact@{DEMO_DOMAIN}"
    clinic.time_zone = "Europe/Paris"
    clinic.sms_sender = "Tilleuls"
    clinic.save()

    site, _ = Site.objects.get_or_create(
        name="Tilleuls — Lyon 3e",
        defaults={"address": clinic.address, "phone": clinic.phone, "is_default": True},
    )

    for role, first, last, local in STAFF:
        email = f"{local}@{DEMO_DOMAIN}"
        user = _account(email, first, last, role)
        TOTPDevice.objects.get_or_create(
            user=user,
            name="Demo authenticator",
            defaults={"key": demo_totp_key(email), "confirmed": True},
        )
        demo.logins.append((role, email, base32_of(demo_totp_key(email))))

    clients = []
    for index, (first, last) in enumerate(CLIENTS):
        email = client_email(first, last)
        user = _account(email, first, last, Role.CLIENT)
        client, _ = Client.objects.get_or_create(
            email=email,
            defaults={
                "first_name": first,
                "last_name": last,
                "phone": f"+3361234{index:04d}",
                "usual_site": site,
                "user": user,
            },
        )
        clients.append(client)
    demo.logins.append(("client", clients[0].email, ""))
    demo.facts["clients"] = clients
    demo.facts["site"] = site


def _account(email: str, first: str, last: str, role: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email, DEMO_PASSWORD, first_name=first, last_name=last, role=role
        )
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user
