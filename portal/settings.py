"""Accueil settings: one module, read from the environment.

Embedded default (no variables set): SQLite in WAL mode, an in-memory channel layer, a local
memory cache, the database task queue and console e-mail — everything `make run` needs on a bare
machine. Scaled: DATABASE_URL (PostgreSQL) and REDIS_URL (channel layer, cache, rate limits).
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from portal.lib.crypto import generate_master_key_entry, parse_master_keys
from portal.lib.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_timezone,
    env_url,
    random_secret_key,
    secret_from_env_or_file,
)
from portal.lib.fs import private_dir
from portal.lib.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ACCUEIL_VAR_DIR") or BASE_DIR / "var")
# The database, local secrets and media live here: this account's alone (0700; portal/lib/fs.py).
private_dir(VAR_DIR)

DEBUG = env_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = secret_from_env_or_file("SECRET_KEY", VAR_DIR / "secret_key", random_secret_key)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Where the portal is reached from outside: links in e-mails and text messages start with it.
ACCUEIL_BASE_URL = env_url("ACCUEIL_BASE_URL", schemes=("http", "https")) or "http://127.0.0.1:8000"


# Envelope-encryption master keys, newest first ("kid:base64key,kid:base64key"). Never in the repo:
# from the environment, else a local file made once for `make run`. Refused at start-up when
# malformed, with a message naming the setting.
ACCUEIL_MASTER_KEYS = secret_from_env_or_file(
    "ACCUEIL_MASTER_KEYS", VAR_DIR / "master_keys", lambda: generate_master_key_entry("k1")
)
try:
    parse_master_keys(ACCUEIL_MASTER_KEYS)
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from None

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.usersessions",  # each sign-in listed (device, IP), so others can be ended
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_htmx",
    "channels",
    "django_tasks_db",
    "anymail",
    # Ours, in dependency order: each may import only those above it.
    "portal",
    "notifications",
    "records",
    "household",  # co-owners and pet-sitters (docs/household.md)
    "booking",
    "waitlist",
    "messaging",
    "privacy",
    "api",  # the JSON API for phone assistants and partners (docs/api.md)
    "webhooks",  # signed outbound webhooks (docs/api.md, "Webhooks")
    "onboarding",  # a newcomer's first booking from the public page (docs/onboarding.md)
    "orders",  # treatment renewals and orders picked up at the clinic (docs/orders.md)
]

MIDDLEWARE = [
    # Health checks first: no session, no cookie, no log line (portal/health.py).
    "portal.health.HealthMiddleware",
    "portal.lib.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Deny by default: a view is public only when marked so (portal/deny.py).
    "portal.deny.LoginRequiredMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Idle and absolute session limits, and no-store on every page (portal/sessions.py).
    "portal.sessions.SessionLimitsMiddleware",
    "portal.middleware.ClinicTimezoneMiddleware",
    "portal.middleware.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.clinic",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "sqlite"))
if DATABASE_URL:
    # Health checks: after a PostgreSQL restart, a kept connection is found dead and replaced
    # before the request uses it, instead of failing that request.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "accueil.sqlite3",
            # Keep each thread's connection: reopening SQLite checkpoints the WAL every time,
            # which was most of a websocket message's cost (bench/messaging.py).
            "CONN_MAX_AGE": None,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                # WAL lets readers carry on while one writer writes. IMMEDIATE makes every
                # transaction take the write lock up front, so a read-then-write (the booking
                # re-check) cannot be overtaken by another writer between its read and its write.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, rate limits ----------------------------------------------------
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    # The cache is an accelerator (portal/lib/cache.py): a dead Redis answers as a miss after
    # at most one short timeout, then not at all for RETRY_AFTER seconds; rate limits count in
    # each process's memory meanwhile.
    CACHES = {
        "default": {
            "BACKEND": "portal.lib.cache.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("ACCUEIL_CACHE_PREFIX", "accueil"),
            "RETRY_AFTER": 3,
            "LOCAL_WHEN_DOWN": [
                "allauth:rl:",
                "messaging:rate:",
                "api:rate:",
                "notifications:sms-rate:",
            ],
            "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.5},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # Each daphne process waits for its websockets' messages with a blocking
                # BZPOPMIN of 5 s (RedisChannelLayer.brpop_timeout). redis-py's default socket
                # timeout is also 5 s, so an idle wait timed out on the socket first and daphne
                # closed every idle websocket with 1011: reads must be allowed to outlast it.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 15,
                        "socket_connect_timeout": 1,
                        "socket_keepalive": True,
                    }
                ],
                "prefix": env_str("ACCUEIL_CHANNELS_PREFIX", "accueil"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Tasks ---------------------------------------------------------------------------------------
# Queues: "email" and "sms" (notifications' dispatch, one per channel, so a hung text-message
# provider never holds up e-mails), "webhooks" (outbound webhooks) and "default" for the rest.
# Production runs one worker for "sms" and one for every other queue (docs/notifications.md,
# "Queues").
TASKS = {
    "default": {
        "BACKEND": env_str("ACCUEIL_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "email", "sms", "webhooks"],
    }
}
# A task still "running" this long after it started lost its worker (killed, machine gone):
# portal.lib.task_sweep marks it failed (interrupted). Longer than any task takes.
TASKS_INTERRUPTED_AFTER_SECONDS = env_int(
    "ACCUEIL_TASKS_INTERRUPTED_AFTER_SECONDS", 900, minimum=60
)
# The access log keeps its lines this many days; a daily task removes older ones
# (portal/lib/access_log.py). Never under 30: a shorter trail could not answer a complaint.
ACCESS_LOG_RETENTION_DAYS = env_int("ACCUEIL_ACCESS_LOG_RETENTION_DAYS", 365, minimum=30)
# A vet's calendar feed lives this long, then must be renewed from the Feeds page.
BOOKING_FEED_DAYS = env_int("ACCUEIL_FEED_DAYS", 180, minimum=1)

# --- Accounts ------------------------------------------------------------------------------------
AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PRESERVE_USERNAME_CASING = False
ACCOUNT_ADAPTER = "portal.accounts.AccountAdapter"
ACCOUNT_FORMS = {"signup": "portal.forms.SignupForm", "login": "portal.forms.LoginForm"}
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# allauth keeps its counters in the default cache: shared by every process once REDIS_URL is set.
# Failed sign-ins lock the account (5 in 5 minutes), and the IP only after many more: a clinic's
# whole team and its waiting room share one public IP, and one person's typos must not lock
# everyone out. The locked person is told how long to wait (portal/lockout.py). Behind a reverse
# proxy, ACCUEIL_TRUSTED_PROXY_COUNT (the number of proxies in front) makes the IP the visitor's.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("ACCUEIL_TRUSTED_PROXY_COUNT", 0, minimum=0)
ACCOUNT_RATE_LIMITS = {
    "login": "60/m/ip",
    "login_failed": "30/5m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
}

# Two-factor: TOTP (django-otp). A wrong code doubles the wait before the next try.
OTP_TOTP_ISSUER = "Accueil"
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
ACCUEIL_BACKUP_CODES = 10

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
# Database sessions whose row expires with the limits below (portal/sessions.py). A session ends
# after IDLE without a request, and in any case MAX after signing in; staff sooner than clients.
SESSION_ENGINE = "portal.sessions"
ACCUEIL_SESSION_IDLE_STAFF = env_int("ACCUEIL_SESSION_IDLE_STAFF_MINUTES", 30, minimum=2) * 60
ACCUEIL_SESSION_MAX_STAFF = env_int("ACCUEIL_SESSION_MAX_STAFF_HOURS", 12, minimum=1) * 3600
ACCUEIL_SESSION_IDLE_CLIENT = (
    env_int("ACCUEIL_SESSION_IDLE_CLIENT_MINUTES", 7 * 24 * 60, minimum=2) * 60
)
ACCUEIL_SESSION_MAX_CLIENT = env_int("ACCUEIL_SESSION_MAX_CLIENT_HOURS", 30 * 24, minimum=1) * 3600
for _who in ("STAFF", "CLIENT"):
    if globals()[f"ACCUEIL_SESSION_IDLE_{_who}"] > globals()[f"ACCUEIL_SESSION_MAX_{_who}"]:
        raise ImproperlyConfigured(
            f"ACCUEIL_SESSION_IDLE_{_who}_MINUTES must not be longer than "
            f"ACCUEIL_SESSION_MAX_{_who}_HOURS."
        )
HTTPS = env_bool("ACCUEIL_HTTPS", default=False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy: no inline script anywhere; htmx's own inline indicator styles are
# switched off in base.html, so styles come only from our files too.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# --- E-mail --------------------------------------------------------------------------------------
# EMAIL_BACKEND: console (default: a few lines per e-mail in the `make run` terminal — who, what,
# its links — and the whole message in var/mail/), file (var/mail/ only), smtp (EMAIL_HOST,
# EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS).
_EMAIL_BACKENDS = {
    "console": "portal.lib.console_mail.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
# Or the clinic's ESP through django-anymail (brevo, mailgun, mailjet, postmark): its API key in
# ACCUEIL_ANYMAIL_API_KEY (Postmark: the server token; Mailjet: also ACCUEIL_ANYMAIL_SECRET_KEY),
# ACCUEIL_ANYMAIL_WEBHOOK_SECRET ("user:password", the basic auth of the tracking webhook at
# /notifications/anymail/<esp>/tracking/), Mailgun also ACCUEIL_MAILGUN_WEBHOOK_SIGNING_KEY and,
# in the EU region, ACCUEIL_ANYMAIL_API_URL=https://api.eu.mailgun.net/v3. README "E-mail".
_ANYMAIL_ESPS = {
    "brevo": "anymail.backends.brevo.EmailBackend",
    "mailgun": "anymail.backends.mailgun.EmailBackend",
    "mailjet": "anymail.backends.mailjet.EmailBackend",
    "postmark": "anymail.backends.postmark.EmailBackend",
}
_EMAIL_BACKENDS.update(_ANYMAIL_ESPS)
EMAIL_BACKEND_NAME = env_choice("EMAIL_BACKEND", "console", choices=tuple(_EMAIL_BACKENDS))
_email_options: dict[str, object] = {}
if EMAIL_BACKEND_NAME == "smtp":
    _email_options = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 587, minimum=1),
        "username": env_str("EMAIL_HOST_USER"),
        "password": env_str("EMAIL_HOST_PASSWORD"),
        "use_tls": env_bool("EMAIL_USE_TLS", default=True),
        "timeout": 20,
    }
elif EMAIL_BACKEND_NAME in ("file", "console"):
    _email_options = {"file_path": str(VAR_DIR / "mail")}
ANYMAIL: dict[str, object] = {
    "WEBHOOK_SECRET": env_str("ACCUEIL_ANYMAIL_WEBHOOK_SECRET"),
    "MAILGUN_WEBHOOK_SIGNING_KEY": env_str("ACCUEIL_MAILGUN_WEBHOOK_SIGNING_KEY"),
}
if EMAIL_BACKEND_NAME in _ANYMAIL_ESPS:
    _missing = [
        name
        for name in (
            "ACCUEIL_ANYMAIL_API_KEY",
            "ACCUEIL_ANYMAIL_WEBHOOK_SECRET",
            *(("ACCUEIL_ANYMAIL_SECRET_KEY",) if EMAIL_BACKEND_NAME == "mailjet" else ()),
            *(("ACCUEIL_MAILGUN_WEBHOOK_SIGNING_KEY",) if EMAIL_BACKEND_NAME == "mailgun" else ()),
        )
        if not env_str(name)
    ]
    if _missing:
        raise ImproperlyConfigured(
            f"EMAIL_BACKEND={EMAIL_BACKEND_NAME} needs {', '.join(_missing)} (README, E-mail)."
        )
    if ":" not in env_str("ACCUEIL_ANYMAIL_WEBHOOK_SECRET"):
        raise ImproperlyConfigured(
            "ACCUEIL_ANYMAIL_WEBHOOK_SECRET must be user:password (the webhook's basic auth)."
        )
    _key = "SERVER_TOKEN" if EMAIL_BACKEND_NAME == "postmark" else "API_KEY"
    ANYMAIL[f"{EMAIL_BACKEND_NAME.upper()}_{_key}"] = env_str("ACCUEIL_ANYMAIL_API_KEY")
    if EMAIL_BACKEND_NAME == "mailjet":
        ANYMAIL["MAILJET_SECRET_KEY"] = env_str("ACCUEIL_ANYMAIL_SECRET_KEY")
    if env_str("ACCUEIL_ANYMAIL_API_URL"):
        ANYMAIL[f"{EMAIL_BACKEND_NAME.upper()}_API_URL"] = env_url(
            "ACCUEIL_ANYMAIL_API_URL", schemes=("https", "http")
        )
MAILERS = {"default": {"BACKEND": _EMAIL_BACKENDS[EMAIL_BACKEND_NAME], "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Accueil <accueil@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation and time ---------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date format per language (portal/formats/<lang>/formats.py); "1er décembre" is the
# day_month/long_date filters' job (portal/lib/dates.py).
FORMAT_MODULE_PATH = ["portal.formats"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # the database and the server speak UTC; the clinic's zone is set per request
ACCUEIL_DEFAULT_CLINIC_TIME_ZONE = env_timezone("ACCUEIL_CLINIC_TIME_ZONE", "Europe/Paris")

# --- Static and media ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env_str("ACCUEIL_MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "/media-not-served/"  # files are served only through views that check access
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Static files are public and read by nginx's unprivileged workers: world-readable, unlike
    # uploads (FILE_UPLOAD_PERMISSIONS, which collectstatic would otherwise apply to them too).
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "OPTIONS": {"file_permissions_mode": 0o644, "directory_permissions_mode": 0o755},
    },
}
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# Small uploads stay in memory; larger ones reach the temporary file only as ciphertext, under a
# key held in memory for the request (portal/lib/uploads.py), never in clear.
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "portal.lib.uploads.EncryptedTemporaryFileUploadHandler",
]

# --- Logging -------------------------------------------------------------------------------------
# ACCUEIL_LOG_FORMAT: plain (make run) or json (production: one JSON object per line, with the
# request id). ACCUEIL_REQUEST_LOG: one line per request and per websocket (on by default in
# json). What the lines hold and never hold: portal/lib/logs.py.
ACCUEIL_LOG_FORMAT = env_choice("ACCUEIL_LOG_FORMAT", "plain", choices=("plain", "json"))
LOGGING = logging_config(
    level=env_str("ACCUEIL_LOG_LEVEL", "INFO"),
    fmt=ACCUEIL_LOG_FORMAT,
    request_lines=env_bool("ACCUEIL_REQUEST_LOG", default=ACCUEIL_LOG_FORMAT == "json"),
)

# Each app's own settings live in its block below (read from the environment like the rest).
# --- notifications settings: start ---
# Text messages: console (default, printed by `make run`), locmem (tests), file (var/sms/) or
# http (a provider's JSON API: URL, API key; delivery receipts signed with the webhook secret,
# HMAC-SHA256 of the body in X-Signature, posted to /notifications/webhooks/sms/).
# Two real providers, two-way (README "Two-way SMS"): twilio (Messages API; receipts and
# replies signed with X-Twilio-Signature) and ovh (OVHcloud SMS; its callbacks are unsigned,
# so their URL carries ACCUEIL_OVH_CALLBACK_TOKEN).
NOTIFICATIONS_SMS_BACKEND = env_choice(
    "ACCUEIL_SMS_BACKEND",
    "console",
    choices=("console", "locmem", "file", "http", "twilio", "ovh"),
)
NOTIFICATIONS_TWILIO_API_URL = (
    env_url("ACCUEIL_TWILIO_API_URL", schemes=("https", "http")) or "https://api.twilio.com"
)
NOTIFICATIONS_TWILIO_ACCOUNT_SID = env_str("ACCUEIL_TWILIO_ACCOUNT_SID")
NOTIFICATIONS_TWILIO_AUTH_TOKEN = env_str("ACCUEIL_TWILIO_AUTH_TOKEN")
# The Twilio number (E.164) replies come back to, or a Messaging Service SID (MG...).
NOTIFICATIONS_TWILIO_FROM = env_str("ACCUEIL_TWILIO_FROM")
NOTIFICATIONS_OVH_API_URL = (
    env_url("ACCUEIL_OVH_API_URL", schemes=("https", "http")) or "https://eu.api.ovh.com/1.0"
)
NOTIFICATIONS_OVH_APPLICATION_KEY = env_str("ACCUEIL_OVH_APPLICATION_KEY")
NOTIFICATIONS_OVH_APPLICATION_SECRET = env_str("ACCUEIL_OVH_APPLICATION_SECRET")
NOTIFICATIONS_OVH_CONSUMER_KEY = env_str("ACCUEIL_OVH_CONSUMER_KEY")
NOTIFICATIONS_OVH_SERVICE_NAME = env_str("ACCUEIL_OVH_SERVICE_NAME")
NOTIFICATIONS_OVH_CALLBACK_TOKEN = env_str("ACCUEIL_OVH_CALLBACK_TOKEN")
# True: OVH sends from a short number clients can answer (no alphanumeric sender).
NOTIFICATIONS_OVH_SENDER_FOR_RESPONSE = env_bool("ACCUEIL_OVH_SENDER_FOR_RESPONSE", default=True)
_SMS_PROVIDER_NEEDS = {
    "twilio": ("ACCUEIL_TWILIO_ACCOUNT_SID", "ACCUEIL_TWILIO_AUTH_TOKEN", "ACCUEIL_TWILIO_FROM"),
    "ovh": (
        "ACCUEIL_OVH_APPLICATION_KEY",
        "ACCUEIL_OVH_APPLICATION_SECRET",
        "ACCUEIL_OVH_CONSUMER_KEY",
        "ACCUEIL_OVH_SERVICE_NAME",
        "ACCUEIL_OVH_CALLBACK_TOKEN",
    ),
}
_missing = [
    _name for _name in _SMS_PROVIDER_NEEDS.get(NOTIFICATIONS_SMS_BACKEND, ()) if not env_str(_name)
]
if _missing:
    raise ImproperlyConfigured(
        f"ACCUEIL_SMS_BACKEND={NOTIFICATIONS_SMS_BACKEND} needs {', '.join(_missing)}."
    )
if NOTIFICATIONS_OVH_CALLBACK_TOKEN and len(NOTIFICATIONS_OVH_CALLBACK_TOKEN) < 24:
    raise ImproperlyConfigured(
        "ACCUEIL_OVH_CALLBACK_TOKEN must be at least 24 random characters "
        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')."
    )
# Webhooks from SMS providers (receipts, replies): requests per minute per source address.
NOTIFICATIONS_SMS_WEBHOOK_RATE_PER_MINUTE = env_int(
    "ACCUEIL_SMS_WEBHOOK_RATE_PER_MINUTE", 600, minimum=1
)
NOTIFICATIONS_SMS_FILE_DIR = Path(env_str("ACCUEIL_SMS_FILE_DIR") or VAR_DIR / "sms")
NOTIFICATIONS_SMS_HTTP_URL = env_url("ACCUEIL_SMS_HTTP_URL", schemes=("https", "http"))
NOTIFICATIONS_SMS_HTTP_API_KEY = env_str("ACCUEIL_SMS_HTTP_API_KEY")
# A row left "sending" longer than this was interrupted (worker killed): recovery takes it.
NOTIFICATIONS_SENDING_LEASE_SECONDS = env_int("ACCUEIL_NOTIFICATIONS_LEASE_SECONDS", 300, minimum=5)
# One provider call's total time (connection to last byte, however slowly the provider
# answers): the text-message API, and the mail server for one e-mail. At most half the lease
# (a call still running when the lease ends would see its message taken back and sent again).
NOTIFICATIONS_SMS_HTTP_TIMEOUT = env_int(
    "ACCUEIL_SMS_HTTP_TIMEOUT", min(10, NOTIFICATIONS_SENDING_LEASE_SECONDS // 2), minimum=1
)
NOTIFICATIONS_EMAIL_TIMEOUT = env_int(
    "ACCUEIL_EMAIL_SEND_TIMEOUT", min(30, NOTIFICATIONS_SENDING_LEASE_SECONDS // 2), minimum=1
)
for _name, _value in (("ACCUEIL_SMS_HTTP_TIMEOUT", NOTIFICATIONS_SMS_HTTP_TIMEOUT),
                      ("ACCUEIL_EMAIL_SEND_TIMEOUT", NOTIFICATIONS_EMAIL_TIMEOUT)):  # fmt: skip
    if _value * 2 > NOTIFICATIONS_SENDING_LEASE_SECONDS:
        raise ImproperlyConfigured(
            f"{_name} ({_value} s) must be at most half ACCUEIL_NOTIFICATIONS_LEASE_SECONDS "
            f"({NOTIFICATIONS_SENDING_LEASE_SECONDS} s)."
        )
NOTIFICATIONS_SMS_WEBHOOK_SECRET = env_str("ACCUEIL_SMS_WEBHOOK_SECRET")
if NOTIFICATIONS_SMS_BACKEND == "http" and not (
    NOTIFICATIONS_SMS_HTTP_URL and NOTIFICATIONS_SMS_WEBHOOK_SECRET
):
    raise ImproperlyConfigured(
        "ACCUEIL_SMS_BACKEND=http needs ACCUEIL_SMS_HTTP_URL and ACCUEIL_SMS_WEBHOOK_SECRET."
    )
# Estimated cost shown to staff, in euro cents per SMS part.
NOTIFICATIONS_SMS_CENTS_PER_SEGMENT = env_int("ACCUEIL_SMS_CENTS_PER_SEGMENT", 5, minimum=0)
# Reminders: hours before the appointment (on the clinic's wall clock).
NOTIFICATIONS_REMINDER_EMAIL_HOURS = env_int("ACCUEIL_REMINDER_EMAIL_HOURS", 48, minimum=1)
NOTIFICATIONS_REMINDER_SMS_HOURS = env_int("ACCUEIL_REMINDER_SMS_HOURS", 24, minimum=1)
# Care reminders go this many days before the due date. A renewal's due date is already set
# ahead of the treatment's end by records (RECORDS_RENEWAL_LEAD_DAYS, 5), so its own lead is
# short: by default the owner hears 7 days before the treatment runs out.
NOTIFICATIONS_CARE_LEAD_DAYS = env_int("ACCUEIL_CARE_LEAD_DAYS", 14, minimum=0)
NOTIFICATIONS_RENEWAL_LEAD_DAYS = env_int("ACCUEIL_RENEWAL_LEAD_DAYS", 2, minimum=0)
# Quiet hours for non-urgent text messages, clinic time (deferred to the end, never dropped).
NOTIFICATIONS_QUIET_START = env_str("ACCUEIL_QUIET_START", "20:00")
NOTIFICATIONS_QUIET_END = env_str("ACCUEIL_QUIET_END", "08:30")
NOTIFICATIONS_QUIET_SUNDAY = env_bool("ACCUEIL_QUIET_SUNDAY", default=True)
# Public holidays are quiet all day too: the clinic's country (ISO code; "" for none).
NOTIFICATIONS_HOLIDAYS_COUNTRY = env_str("ACCUEIL_HOLIDAYS_COUNTRY", "FR").upper()
if NOTIFICATIONS_HOLIDAYS_COUNTRY:
    import holidays as _holidays

    if NOTIFICATIONS_HOLIDAYS_COUNTRY not in _holidays.list_supported_countries():
        raise ImproperlyConfigured(
            "ACCUEIL_HOLIDAYS_COUNTRY must be a country code the holidays package knows "
            f"(FR, BE, CH, DE...), or empty; got {NOTIFICATIONS_HOLIDAYS_COUNTRY!r}."
        )
for _name, _value in (("ACCUEIL_QUIET_START", NOTIFICATIONS_QUIET_START),
                      ("ACCUEIL_QUIET_END", NOTIFICATIONS_QUIET_END)):  # fmt: skip
    _h, _, _m = _value.partition(":")
    if not (_h.isdigit() and _m.isdigit() and int(_h) < 24 and int(_m) < 60 and len(_m) == 2):
        raise ImproperlyConfigured(f"{_name} must be a time such as 20:00; got {_value!r}.")
# Non-urgent messages (care, documents, messages, offers, campaigns) per client per 7 days.
NOTIFICATIONS_WEEKLY_CAP = env_int("ACCUEIL_NOTIFICATIONS_WEEKLY_CAP", 5, minimum=1)
# Provider errors: attempts before "failed", and the first wait (doubled each time).
NOTIFICATIONS_MAX_ATTEMPTS = env_int("ACCUEIL_NOTIFICATIONS_MAX_ATTEMPTS", 5, minimum=1)
NOTIFICATIONS_RETRY_SECONDS = env_int("ACCUEIL_NOTIFICATIONS_RETRY_SECONDS", 60, minimum=0)
# --- notifications settings: end ---
# --- records settings: start ---
# Reports: the largest PDF a vet may upload, and how many days before a treatment runs out its
# renewal falls due (notifications then reminds the owner ahead of that date).
RECORDS_MAX_UPLOAD_BYTES = env_int("ACCUEIL_RECORDS_MAX_UPLOAD_MB", 20, minimum=1) * 1024 * 1024
RECORDS_RENEWAL_LEAD_DAYS = env_int("ACCUEIL_RECORDS_RENEWAL_LEAD_DAYS", 5, minimum=0)

# A newcomer's chosen slot is kept this long while they create their account (docs/booking.md).
BOOKING_HOLD_MINUTES = env_int("ACCUEIL_BOOKING_HOLD_MINUTES", 10, minimum=1)

# Orders and renewals (docs/orders.md). A vet's prescription may be renewed without a visit this
# long after it was written (a year in France for most veterinary medicines); after that the
# request is routed to "needs a consultation". A treatment still counts as current this long
# after its end. A parcel waits this many opening days, and its owner gets one reminder this
# many days after "ready". The client's request page asks for news this often.
ORDERS_PRESCRIPTION_VALID_DAYS = env_int("ACCUEIL_ORDERS_PRESCRIPTION_VALID_DAYS", 365, minimum=1)
ORDERS_CURRENT_TREATMENT_DAYS = env_int("ACCUEIL_ORDERS_CURRENT_TREATMENT_DAYS", 60, minimum=0)
ORDERS_PICKUP_OPEN_DAYS = env_int("ACCUEIL_ORDERS_PICKUP_OPEN_DAYS", 5, minimum=1)
ORDERS_REMINDER_AFTER_DAYS = env_int("ACCUEIL_ORDERS_REMINDER_AFTER_DAYS", 3, minimum=1)
ORDERS_LIVE_POLL_SECONDS = env_int("ACCUEIL_ORDERS_LIVE_POLL_SECONDS", 5, minimum=1)
# WeasyPrint logs seven INFO lines per rendered report: noise in the server log.
LOGGING["loggers"]["weasyprint"] = {"level": "WARNING"}
# --- records settings: end ---
# --- booking settings: start ---
# --- booking settings: end ---
# --- waitlist settings: start ---
# A released slot goes to WAVE_SIZE waiting clients at once, then to the next WAVE_SIZE every
# WAVE_MINUTES while nobody has taken it. RANKING: "signup" (earliest sign-up first, then fit)
# or "fit" (same vet asked for and nearest deadline first, then sign-up).
WAITLIST_WAVE_SIZE = env_int("ACCUEIL_WAITLIST_WAVE_SIZE", 3, minimum=1)
WAITLIST_WAVE_MINUTES = env_int("ACCUEIL_WAITLIST_WAVE_MINUTES", 20, minimum=1)
WAITLIST_RANKING = env_choice("ACCUEIL_WAITLIST_RANKING", "signup", choices=("signup", "fit"))
# --- waitlist settings: end ---
# --- messaging settings: start ---
# Emergency words: the lexicon is messaging/lexicon.py (French and English, with inflections and
# negations). These comma-separated lists add a clinic's own words on top; empty by default.
ACCUEIL_MESSAGING_EMERGENCY_WORDS = env_list("ACCUEIL_MESSAGING_EMERGENCY_WORDS_FR", []) + env_list(
    "ACCUEIL_MESSAGING_EMERGENCY_WORDS_EN", []
)
ACCUEIL_MESSAGING_MAX_BODY = env_int("ACCUEIL_MESSAGING_MAX_BODY", 4000, minimum=100)
ACCUEIL_MESSAGING_MAX_FRAME = env_int("ACCUEIL_MESSAGING_MAX_FRAME", 16384, minimum=1024)
ACCUEIL_MESSAGING_MAX_ATTACHMENT = env_int(
    "ACCUEIL_MESSAGING_MAX_ATTACHMENT", 10 * 1024 * 1024, minimum=1024
)
# Messages one person may send per minute, counted in the shared cache (Redis when scaled).
ACCUEIL_MESSAGING_RATE_PER_MINUTE = env_int("ACCUEIL_MESSAGING_RATE_PER_MINUTE", 20, minimum=1)
# Frames of any kind one websocket may send in 10 seconds before they are dropped.
ACCUEIL_MESSAGING_FRAMES_PER_10S = env_int("ACCUEIL_MESSAGING_FRAMES_PER_10S", 60, minimum=10)
# Minutes a clinic message may stay unread, the client away, before the no-content notice.
ACCUEIL_MESSAGING_OFFLINE_NOTICE_MINUTES = env_int(
    "ACCUEIL_MESSAGING_OFFLINE_NOTICE_MINUTES", 10, minimum=1
)
# Benchmarks only: adds a bare echo consumer at ws/bench/echo/ as the floor to compare with.
ACCUEIL_BENCH_ECHO = env_bool("ACCUEIL_BENCH_ECHO", default=False)
# --- messaging settings: end ---

# --- API (api/, docs/api.md) -------------------------------------------------------------------
# A new key's default calls per minute (each key may set its own on the keys page).
ACCUEIL_API_RATE_PER_MINUTE = env_int("ACCUEIL_API_RATE_PER_MINUTE", 120, minimum=1)

# --- Webhooks (webhooks/, docs/api.md "Webhooks") -----------------------------------------------
# One delivery's total time (connection to answer): a receiver that hangs is retried later.
WEBHOOKS_TIMEOUT_SECONDS = env_int("ACCUEIL_WEBHOOKS_TIMEOUT_SECONDS", 5, minimum=1)
if WEBHOOKS_TIMEOUT_SECONDS > 60:
    raise ImproperlyConfigured("ACCUEIL_WEBHOOKS_TIMEOUT_SECONDS must be at most 60.")
# Endpoints must be https; plain http is accepted only for 127.0.0.1/localhost, and only when
# this is on (DEBUG's value by default; tests turn it on for their local receivers).
WEBHOOKS_ALLOW_LOCAL_HTTP = env_bool("ACCUEIL_WEBHOOKS_ALLOW_LOCAL_HTTP", DEBUG)
# Delivered and failed deliveries (and their attempts) are kept this many days, then purged
# by the recovery pass.
WEBHOOKS_KEEP_DAYS = env_int("ACCUEIL_WEBHOOKS_KEEP_DAYS", 30, minimum=1)
