import hashlib
import secrets
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.cache import cache
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CLIENT = "client", _("Client")
    RECEPTION = "reception", _("Reception")
    VET = "vet", _("Veterinarian")
    MANAGER = "manager", _("Manager")


STAFF_ROLES = frozenset({Role.RECEPTION, Role.VET, Role.MANAGER})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("role", Role.MANAGER)
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """An account: a client or a member of the clinic team. The e-mail is the login."""

    email = models.EmailField(_("e-mail"), unique=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.CLIENT)
    is_active = models.BooleanField(_("active"), default=True)
    # Django admin access only; clinic roles are `role`.
    is_staff = models.BooleanField(_("admin access"), default=False)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @property
    def is_clinic_staff(self) -> bool:
        return self.role in STAFF_ROLES


class Clinic(models.Model):
    """The clinic's own settings: one row, edited by a manager."""

    name = models.CharField(_("name"), max_length=200)
    address = models.TextField(_("address"), blank=True)
    phone = models.CharField(_("phone"), max_length=40)
    emergency_phone = models.CharField(_("emergency phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    sms_sender = models.CharField(
        _("SMS sender name"),
        max_length=11,
        blank=True,
        help_text=_("Up to 11 letters or digits, shown as the sender of text messages."),
        validators=[RegexValidator(r"^[A-Za-z0-9 ]*$", _("Use only letters, digits and spaces."))],
    )
    logo = models.ImageField(_("logo"), upload_to="clinic/", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("clinic")

    CACHE_KEY = "portal:clinic:v1"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        cache.delete(self.CACHE_KEY)

    @classmethod
    def current(cls) -> "Clinic":
        """The clinic row, cached: it is read on every page (phone in the header, time zone)."""
        clinic = cache.get(cls.CACHE_KEY)
        if clinic is None:
            clinic = cls.objects.order_by("pk").first()
            if clinic is None:
                clinic = cls.objects.create(
                    name="Accueil",
                    phone="",
                    time_zone=settings.ACCUEIL_DEFAULT_CLINIC_TIME_ZONE,
                )
            cache.set(cls.CACHE_KEY, clinic, 300)
        return clinic

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Site(models.Model):
    """A location of the clinic. Most clinics have one; groups of practices have several."""

    name = models.CharField(_("name"), max_length=200)
    address = models.TextField(_("address"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    is_default = models.BooleanField(_("default site"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("site")
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="portal_site_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def address_line(self) -> str:
        """The address on one line ("12 avenue des Tilleuls, 69006 Lyon"): a text message, a
        map search."""
        return ", ".join(line.strip() for line in self.address.splitlines() if line.strip())


class ClientQuerySet(models.QuerySet["Client"]):
    def search(self, text: str) -> "ClientQuerySet":
        text = text.strip()
        if not text:
            return self
        query = models.Q()
        for word in text.split():
            query &= (
                models.Q(first_name__icontains=word)
                | models.Q(last_name__icontains=word)
                | models.Q(email__icontains=word)
                | models.Q(phone__icontains=word)
            )
        return self.filter(query)


class Client(models.Model):
    """A client record (owner or adult patient). It may exist before its holder signs up."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="client",
    )
    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("mobile phone"), max_length=40, blank=True)
    address = models.TextField(_("address"), blank=True)
    usual_site = models.ForeignKey(
        Site, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("usual site")
    )
    preferred_language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="fr"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("client")
        ordering = ["last_name", "first_name", "pk"]
        indexes = [models.Index(Lower("email"), name="portal_client_email_ci")]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def by_token(self, token: str) -> "Invitation | None":
        return self.select_related("client").filter(token_hash=_hash_token(token)).first()


class Invitation(models.Model):
    """A link sent by e-mail that lets its holder create an account with a given role.

    Staff are invited by a manager (the role says which). Clients are invited by the clinic,
    and the invitation names the client record their new account is linked to.
    Only a hash of the token is stored, so a database leak does not leak usable links.
    """

    VALIDITY = timedelta(days=7)

    email = models.EmailField(_("e-mail"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, null=True, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} ({self.role})"

    @classmethod
    def issue(
        cls, *, email: str, role: str, invited_by: User | None, client: Client | None = None
    ) -> tuple["Invitation", str]:
        """A new invitation and its token (the only time the token exists in clear)."""
        token = secrets.token_urlsafe(32)
        now = timezone.now()
        invitation = cls.objects.create(
            email=email.lower(),
            role=role,
            client=client,
            token_hash=_hash_token(token),
            invited_by=invited_by,
            created_at=now,
            expires_at=now + cls.VALIDITY,
        )
        return invitation, token

    def is_usable(self, now: datetime) -> bool:
        return self.accepted_at is None and now < self.expires_at


class AccessLogQuerySet(models.QuerySet["AccessLog"]):
    def update(self, **kwargs):
        raise PermissionError("The access log is append-only.")

    def delete(self):
        raise PermissionError("The access log is append-only.")

    def bulk_create(self, *args, **kwargs):
        # Each line hangs on the one before it (the hash chain): one save() at a time.
        raise PermissionError("Access log lines are written one at a time.")


class AccessLog(models.Model):
    """Every read of health data: who, what, when, from where. Append-only.

    The model refuses updates and deletes, and database triggers (see the migration) refuse
    them too, so the trace holds even against code that bypasses the ORM. Each line carries the
    hash of the one before it (portal/lib/access_log.py), so a line removed or altered by
    someone who got past both is found by `manage.py verify_access_log`.
    """

    class Action(models.TextChoices):
        VIEW = "view", _("viewed")
        DOWNLOAD = "download", _("downloaded")
        DENIED = "denied", _("was refused")
        ALERT = "alert", _("alert")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    detail = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # Empty for a line inserted behind save()'s back, which verify_access_log then reports.
    prev_hash = models.CharField(
        max_length=64, blank=True, default="", db_default="", editable=False
    )
    row_hash = models.CharField(
        max_length=64, blank=True, default="", db_default="", editable=False
    )

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user_id} {self.action} {self.object_type}"

    def save(self, *args, **kwargs) -> None:
        """Append the line to the chain. Takes the chain's lock (access_log.lock_chain) until
        the surrounding transaction ends, so concurrent writers queue in a single line."""
        from portal.lib import access_log

        if self.pk is not None:
            raise PermissionError("The access log is append-only.")
        # No savepoint: a failed line fails the caller's transaction, as an unlogged read must.
        with transaction.atomic(savepoint=False):
            access_log.lock_chain()
            last = AccessLog.objects.order_by("-pk").values_list("row_hash", flat=True).first()
            self.prev_hash = last or ""
            self.object_id = str(self.object_id)  # hashed as it will read back
            self.row_hash = access_log.row_hash(
                {name: getattr(self, name) for name in access_log.FIELDS}, self.prev_hash
            )
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The access log is append-only.")


class WorkerHeartbeat(models.Model):
    """A task worker says it is alive (portal/management/commands/worker.py); /readyz reads it.

    One row per worker process, refreshed every few seconds by a thread beside the worker loop,
    so a worker busy with a long task still counts as alive. Rows of workers gone for long are
    removed by the next worker that starts.
    """

    worker_id = models.CharField(max_length=64, unique=True)
    queues = models.CharField(max_length=200)
    hostname = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.queues})"


# --- Separation of duties (issue 11) -------------------------------------------------------------


class Duty(models.TextChoices):
    """What a staff role may change. Reading stays open to all staff (the access log records it)."""

    MEDICAL = "medical", _("Medical records")
    PUBLISH = "publish", _("Publishing reports")
    APPOINTMENTS = "appointments", _("Appointments")
    CLIENTS = "clients", _("Client records")
    MESSAGES = "messages", _("Messages")
    ORDERS = "orders", _("Orders and renewals")
    SETTINGS = "settings", _("Settings")


# "Only vets write and publish reports and medical entries": the manager's defaults leave
# medical work out, and the manager may change every role's duties but their own "settings".
DEFAULT_DUTIES: dict[str, frozenset[str]] = {
    Role.VET: frozenset(
        {Duty.MEDICAL, Duty.PUBLISH, Duty.APPOINTMENTS, Duty.CLIENTS, Duty.MESSAGES, Duty.ORDERS}
    ),
    Role.RECEPTION: frozenset({Duty.APPOINTMENTS, Duty.CLIENTS, Duty.MESSAGES, Duty.ORDERS}),
    Role.MANAGER: frozenset(
        {Duty.APPOINTMENTS, Duty.CLIENTS, Duty.MESSAGES, Duty.ORDERS, Duty.SETTINGS}
    ),
}


class Duties(models.Model):
    """The duties of one staff role, as the manager set them on the duties page.

    A role without a row has its defaults (DEFAULT_DUTIES), so a fresh or flushed database
    behaves as documented without a data migration. "settings" stays with the manager: whoever
    holds it could grant themselves anything, and the settings pages check the manager role.
    """

    role = models.CharField(
        _("role"),
        max_length=16,
        unique=True,
        choices=[(role.value, role.label) for role in Role if role in STAFF_ROLES],
    )
    duties = models.JSONField(_("duties"), default=list)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("duties of a role")
        verbose_name_plural = _("duties of the roles")

    CACHE_KEY = "portal:duties:v1"

    def __str__(self) -> str:
        return f"{self.role}: {', '.join(self.duties)}"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        # Now, and again after commit: a page reading meanwhile may cache the old rows again.
        cache.delete(self.CACHE_KEY)
        transaction.on_commit(lambda: cache.delete(self.CACHE_KEY))

    @classmethod
    def table(cls) -> dict[str, frozenset[str]]:
        """Every staff role's duties, cached (write buttons on every staff page ask)."""
        table = cache.get(cls.CACHE_KEY)
        if table is None:
            table = cls.table_from_rows()
            cache.set(cls.CACHE_KEY, table, 300)
        return table

    @classmethod
    def table_from_rows(cls) -> dict[str, frozenset[str]]:
        """The stored rows over the defaults (one query)."""
        table = dict(DEFAULT_DUTIES)
        for role, duties in cls.objects.values_list("role", "duties"):
            if role in table:
                table[role] = frozenset(
                    d for d in duties if d in Duty.values and d != Duty.SETTINGS
                )
        table[Role.MANAGER] = table[Role.MANAGER] | {Duty.SETTINGS}
        return table
