"""EMAIL_BACKEND names the clinic's ESP; the settings refuse one without its credentials at
start-up, with the variable to set, and hand the credentials to anymail."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start(**env: str) -> subprocess.CompletedProcess:
    """Load the settings in a fresh process, as `manage.py` does at start-up."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ACCUEIL_ANYMAIL", "EMAIL"))}
    code = (
        "import django, json; django.setup(); from django.conf import settings as s;"
        "print(json.dumps({'backend': s.MAILERS['default']['BACKEND'], 'anymail': s.ANYMAIL}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("esp", "missing"),
    [
        ("brevo", "ACCUEIL_ANYMAIL_API_KEY, ACCUEIL_ANYMAIL_WEBHOOK_SECRET"),
        ("mailjet", "ACCUEIL_ANYMAIL_API_KEY, ACCUEIL_ANYMAIL_WEBHOOK_SECRET"),
    ],
)
def test_an_esp_without_credentials_is_refused_at_start_up(esp, missing):
    result = start(EMAIL_BACKEND=esp)

    assert result.returncode != 0
    assert f"EMAIL_BACKEND={esp} needs {missing}" in result.stderr


def test_mailgun_also_needs_its_webhook_signing_key():
    result = start(
        EMAIL_BACKEND="mailgun",
        ACCUEIL_ANYMAIL_API_KEY="key-test",
        ACCUEIL_ANYMAIL_WEBHOOK_SECRET="hook:secret",
    )

    assert result.returncode != 0
    assert "needs ACCUEIL_MAILGUN_WEBHOOK_SIGNING_KEY" in result.stderr


def test_a_webhook_secret_without_a_password_is_refused():
    result = start(
        EMAIL_BACKEND="brevo",
        ACCUEIL_ANYMAIL_API_KEY="xkeysib-test",
        ACCUEIL_ANYMAIL_WEBHOOK_SECRET="justonepart",
    )

    assert result.returncode != 0
    assert "ACCUEIL_ANYMAIL_WEBHOOK_SECRET must be user:password" in result.stderr


def test_a_configured_esp_gets_its_backend_and_credentials():
    result = start(
        EMAIL_BACKEND="postmark",
        ACCUEIL_ANYMAIL_API_KEY="server-token",
        ACCUEIL_ANYMAIL_WEBHOOK_SECRET="hook:secret",
    )

    assert result.returncode == 0, result.stderr
    assert '"backend": "anymail.backends.postmark.EmailBackend"' in result.stdout
    assert '"POSTMARK_SERVER_TOKEN": "server-token"' in result.stdout
    assert '"WEBHOOK_SECRET": "hook:secret"' in result.stdout


def test_without_an_esp_the_default_mailer_stays_as_it_was():
    result = start()

    assert result.returncode == 0, result.stderr
    assert "anymail.backends" not in result.stdout
