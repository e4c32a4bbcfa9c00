"""Real daphne processes on loopback against a throw-away database, for tests and benchmarks.

`python -m tests.messaging.servers setup N` (run with the same environment as the servers)
migrates the database and prints, as JSON, N conversations each with a client session and a
vet session (past two-factor), ready to be sent as cookies.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
DAPHNE = ROOT / ".venv" / "bin" / "daphne"
TEST_MASTER_KEY = "test1:" + "A" * 43 + "="


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(var_dir: Path, *, redis_url: str = "", extra: dict | None = None) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "REDIS_URL", "PYTEST", "DJANGO_ALLOW"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        # No DATABASE_URL: the default SQLite file in the var dir, WAL and BEGIN IMMEDIATE,
        # as a real single-machine deployment runs it.
        ACCUEIL_VAR_DIR=str(var_dir),
        ACCUEIL_MASTER_KEYS=TEST_MASTER_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONPATH=str(ROOT),
        ACCUEIL_LOG_LEVEL="WARNING",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra or {})
    return env


def prepare(env: dict, pairs: int) -> list[dict]:
    # The test run's migrated SQLite template (tests/schema_template.py), when there is one, saves
    # running every migration again; `migrate` then has nothing left to do but check.
    template = os.environ.get("ACCUEIL_TEST_SCHEMA_TEMPLATE", "")
    database = Path(env["ACCUEIL_VAR_DIR"]) / "accueil.sqlite3"
    if "DATABASE_URL" not in env and os.path.isfile(template) and not database.exists():
        shutil.copyfile(template, database)
    subprocess.run([str(PYTHON), "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run(
        [str(PYTHON), "-m", "tests.messaging.servers", "setup", str(pairs)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_daphne(env: dict, port: int) -> subprocess.Popen:
    """daphne on `port`; its output goes to daphne-<port>.log in the var dir (a pipe nobody reads
    fills up when a fault makes it log a lot, and daphne then hangs on its next write)."""
    log_path = Path(env["ACCUEIL_VAR_DIR"]) / f"daphne-{port}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [str(DAPHNE), "-b", "127.0.0.1", "-p", str(port), "portal.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited: {log_path.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.05)  # polling a port that has no event to await
    process.kill()
    raise RuntimeError("daphne did not start listening in 30 s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


class RedisServer:
    """A redis-server of the test's own, on a fixed port, that the test may kill and restart
    (the machine's shared Redis is never touched). No persistence: a restart comes back empty."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited (is port {self.port} taken?)")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            time.sleep(0.02)  # polling a port that has no event to await
        self.kill()
        raise RuntimeError("redis-server did not answer in 10 s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, nothing answers (a hung Redis)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


def _setup(pairs: int) -> list[dict]:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from messaging import services
    from portal.models import Client, Clinic, Role, User

    settings.ACCUEIL_MESSAGING_RATE_PER_MINUTE = 10**6
    Clinic.objects.get_or_create(
        name="Clinique", defaults={"phone": "+33478000000", "emergency_phone": "+33478000099"}
    )

    def session_for(user: User, device: TOTPDevice | None = None) -> str:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        if device is not None:
            store[DEVICE_ID_SESSION_KEY] = device.persistent_id
        store.create()
        return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"

    # No password (no slow hashing): these accounts sign in only through the sessions below.
    vet = User.objects.create_user("vet@example.com", None, role=Role.VET)
    device = TOTPDevice.objects.create(user=vet, name="t", confirmed=True)
    result = []
    for index in range(pairs):
        user = User.objects.create_user(f"client{index}@example.com", None)
        client = Client.objects.create(user=user, first_name="C", last_name=str(index))
        conversation = services.start_conversation(
            client=client, author=user, subject=f"Q{index}", body="Bonjour"
        ).conversation
        result.append(
            {
                "conversation": conversation.pk,
                "client_cookie": session_for(user),
                "vet_cookie": session_for(vet, device),
            }
        )
    return result


if __name__ == "__main__" and sys.argv[1:2] == ["setup"]:
    print(json.dumps(_setup(int(sys.argv[2]))))
