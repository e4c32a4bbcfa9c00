"""Plain factory functions: explicit, typed, no magic. Each returns a saved object."""

import itertools
from datetime import date

from allauth.account.models import EmailAddress
from django.test import Client as HttpClient
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import Client, Clinic, Role, Site, User
from records.models import Guardianship, Patient, Species

PASSWORD = "a-Long-test-passw0rd"
_seq = itertools.count(1)


def make_clinic(**fields) -> Clinic:
    defaults = {
        "name": "Clinique des Tests",
        "phone": "+33478000000",
        "emergency_phone": "+33478000099",
        "time_zone": "Europe/Paris",
        "sms_sender": "Tests",
    }
    defaults.update(fields)
    clinic = Clinic.objects.order_by("pk").first()
    if clinic is None:
        return Clinic.objects.create(**defaults)
    for key, value in defaults.items():
        setattr(clinic, key, value)
    clinic.save()
    return clinic


def make_site(**fields) -> Site:
    defaults = {"name": f"Site {next(_seq)}", "is_default": not Site.objects.exists()}
    defaults.update(fields)
    return Site.objects.create(**defaults)


def make_user(*, role: str = Role.CLIENT, email: str | None = None, **fields) -> User:
    email = email or f"user{next(_seq)}@example.com"
    user = User.objects.create_user(email, PASSWORD, role=role, **fields)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def make_client_user(*, first_name: str = "Alex", last_name: str = "Client", **fields) -> User:
    user = make_user(first_name=first_name, last_name=last_name, **fields)
    Client.objects.create(user=user, first_name=first_name, last_name=last_name, email=user.email)
    return user


def make_client(**fields) -> Client:
    defaults = {"first_name": "Dana", "last_name": f"Record{next(_seq)}"}
    defaults.update(fields)
    return Client.objects.create(**defaults)


def make_staff(role: str, **fields) -> User:
    user = make_user(role=role, first_name=role.title(), last_name=f"Staff{next(_seq)}", **fields)
    TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    return user


def http_client(user: User | None = None) -> HttpClient:
    """A test client that reads the site in English (French, the default, is tested apart)."""
    http = HttpClient(headers={"accept-language": "en"})
    if user is not None:
        http.force_login(user)
    return http


def verified_http_client(user: User) -> HttpClient:
    """A test client logged in as `user` and past the second factor."""
    http = http_client()
    http.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    session = http.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return http


def make_patient(client: Client | User, **fields) -> Patient:
    if isinstance(client, User):
        client = client.client
    defaults = {
        "name": "Filou",
        "species": Species.DOG,
        "breed": "Labrador",
        "birth_date": date(2020, 5, 17),
    }
    defaults.update(fields)
    patient = Patient.objects.create(**defaults)
    Guardianship.objects.create(patient=patient, client=client)
    return patient
