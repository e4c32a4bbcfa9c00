import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.lib import env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("off", False)])
def test_it_reads_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env.env_bool("X_FLAG") is expected


@pytest.mark.parametrize(
    ("helper", "raw", "words"),
    [
        (lambda: env.env_bool("X_VALUE"), "maybe", "X_VALUE must be one of"),
        (lambda: env.env_int("X_VALUE", 1, minimum=1), "0", "X_VALUE must be at least 1"),
        (lambda: env.env_int("X_VALUE", 1), "ten", "X_VALUE must be a whole number"),
        (lambda: env.env_timezone("X_VALUE", "UTC"), "Europe/Atlantis", "IANA time zone"),
        (lambda: env.env_url("X_VALUE", schemes=("redis",)), "http://x", "redis://"),
        (lambda: env.env_choice("X_VALUE", "a", choices=("a", "b")), "c", "one of a, b"),
    ],
)
def test_it_refuses_bad_values_naming_the_variable(monkeypatch, helper, raw, words):
    monkeypatch.setenv("X_VALUE", raw)
    with pytest.raises(ImproperlyConfigured, match=words):
        helper()


def test_it_creates_a_local_secret_once_and_reuses_it(tmp_path, monkeypatch):
    monkeypatch.delenv("X_SECRET", raising=False)
    path = tmp_path / "var" / "secret"

    first = env.secret_from_env_or_file("X_SECRET", path, lambda: "made-once")
    second = env.secret_from_env_or_file("X_SECRET", path, lambda: "made-twice")

    assert first == second == "made-once"
    assert path.stat().st_mode & 0o777 == 0o600


def _start(**variables: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS"))}
    environment.update(variables)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ACCUEIL_MASTER_KEYS", "not-a-key"),
        ("DATABASE_URL", "mysql://somewhere/db"),
        ("DJANGO_DEBUG", "perhaps"),
        ("ACCUEIL_CLINIC_TIME_ZONE", "Paris"),
        ("EMAIL_BACKEND", "carrier-pigeon"),
    ],
)
def test_the_portal_refuses_to_start_with_a_bad_setting(variable, value, tmp_path):
    result = _start(**{variable: value, "ACCUEIL_VAR_DIR": str(tmp_path)})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr
