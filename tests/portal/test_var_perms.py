"""var/ is this account's alone: the directory 0700, the SQLite database and media files 0600."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage

ROOT = Path(__file__).resolve().parents[2]

# Starts Django the way `make run` does, under a permissive umask, and makes SQLite write (which
# creates the database and, in WAL mode, its -wal and -shm files).
START = """
import os
os.umask(0o022)
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS probe (x integer)")
    cursor.execute("INSERT INTO probe VALUES (1)")
    cursor.execute("SELECT count(*) FROM probe")
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def start(var_dir: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ACCUEIL_MASTER_KEYS"}
    }
    env.update(ACCUEIL_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="portal.settings")
    subprocess.run(
        [sys.executable, "-c", START], cwd=ROOT, env=env, check=True, capture_output=True
    )


def test_a_fresh_var_dir_and_its_database_are_private(tmp_path):
    var_dir = tmp_path / "fresh" / "var"
    start(var_dir)
    assert mode(var_dir) == 0o700
    database = var_dir / "accueil.sqlite3"
    assert mode(database) == 0o600
    for name in ("accueil.sqlite3-wal", "accueil.sqlite3-shm", "secret_key", "master_keys"):
        if (var_dir / name).exists():  # the WAL files may be checkpointed away on close
            assert mode(var_dir / name) == 0o600, name


def test_an_old_open_var_dir_is_tightened_at_start_up(tmp_path):
    """A checkout made before this rule had var/ 0755 and the database 0644."""
    var_dir = tmp_path / "var"
    var_dir.mkdir(mode=0o755)
    os.chmod(var_dir, 0o755)  # noqa: S103 - the old, open mode under test
    database = var_dir / "accueil.sqlite3"
    database.touch()
    os.chmod(database, 0o644)
    start(var_dir)
    assert mode(var_dir) == 0o700
    assert mode(database) == 0o600


def test_a_traverse_only_grant_is_kept(tmp_path):
    """A server lets nginx reach var/static with 0711 (or an ACL): not listable, so it stays."""
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    os.chmod(var_dir, 0o711)  # noqa: S103 - the grant under test
    start(var_dir)
    assert mode(var_dir) == 0o711
    assert mode(var_dir / "accueil.sqlite3") == 0o600


def test_media_files_are_0600_in_0700_directories(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    old = os.umask(0o022)
    try:
        name = FileSystemStorage().save("reports/2026/x.enc", ContentFile(b"ciphertext"))
    finally:
        os.umask(old)
    stored = tmp_path / "media" / name
    assert mode(stored) == 0o600
    assert mode(stored.parent) == 0o700
    assert mode(tmp_path / "media") == 0o700


@pytest.mark.parametrize(
    "setting", ["FILE_UPLOAD_PERMISSIONS", "FILE_UPLOAD_DIRECTORY_PERMISSIONS"]
)
def test_the_settings_say_so(setting):
    from django.conf import settings

    expected = {"FILE_UPLOAD_PERMISSIONS": 0o600, "FILE_UPLOAD_DIRECTORY_PERMISSIONS": 0o700}
    assert getattr(settings, setting) == expected[setting]
