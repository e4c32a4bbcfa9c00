"""Playwright on Debian's chromium, against daphne serving the real ASGI application.

pytest-django's live server speaks WSGI only, and pages open websockets (live unread counts,
conversations), so daphne runs in a thread of this process for the whole session, sharing the
test database. Every journey gets a fresh browser context; `snap` saves a screenshot at the
current width and `snap_widths` at a phone's and a desktop's, into tests/browser/screenshots/
(ignored by git).
"""

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page, sync_playwright

from tests import factories

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make to set
# up data and read results are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}
# Without the background-networking flags chromium keeps dialling out of a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in this thread
# while it lives, and async tests (websocket consumers) that a worker runs next need the thread
# free. pytest tears a module's fixtures down before moving to another file.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        message = "needs Debian's chromium (apt-get install chromium; `make test` installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def daphne_server() -> Iterator[tuple[str, object]]:
    """daphne in a thread on a free loopback port: HTTP and websockets, as in production."""
    from daphne.endpoints import build_endpoint_description_strings
    from daphne.server import Server
    from twisted.internet import reactor

    from portal.asgi import application

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Server(
        application=application,
        endpoints=build_endpoint_description_strings(host="127.0.0.1", port=port),
        signal_handlers=False,
        verbosity=0,
    )
    thread = threading.Thread(target=server.run, daemon=True, name="daphne")
    thread.start()
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # waiting for a port to open: there is no event to await
    yield f"http://127.0.0.1:{port}", server
    reactor.callFromThread(reactor.stop)


class _SameThread:
    """Stands in for asgiref's ThreadSensitiveContext: every request's sync code then runs in
    daphne's one sync thread, like the consumers' database calls, so the in-memory test
    database sees one writer at a time."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc) -> None:
        return None


@pytest.fixture
def one_database(transactional_db, monkeypatch) -> Iterator[None]:
    """daphne's threads use this test's connection to the in-memory SQLite database.

    Shared-cache in-memory SQLite answers "table is locked" at once when two connections
    overlap; Django's own live server shares its connection the same way. With PostgreSQL
    (DATABASE_URL) every thread keeps its own connection.
    """
    from django.core.handlers import asgi
    from django.db import connections

    connection = connections["default"]
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    monkeypatch.setattr(asgi, "ThreadSensitiveContext", _SameThread)
    shared = type("SharedConnections", (), {})()
    shared.default = connection
    saved = connections._connections
    connection.inc_thread_sharing()
    connections._connections = shared
    yield
    connections._connections = saved
    connection.dec_thread_sharing()


@pytest.fixture
def live_url(daphne_server, one_database) -> str:
    return daphne_server[0]


def until_sockets_closed(server) -> None:
    """daphne notices a closed websocket a moment after the browser closes it; wait for that
    before the test's database is flushed under the consumer's disconnect handler."""

    def consumer_running(protocol, details: dict) -> bool:
        instance = details.get("application_instance")
        websocket = type(protocol).__name__.startswith("WebSocket")
        return websocket and instance is not None and not instance.done()

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
        consumer_running(protocol, details)
        for protocol, details in list(server.connections.items())
    ):
        time.sleep(0.05)  # daphne offers no event to await from this thread


@pytest.fixture
def page(browser: Browser, daphne_server, live_url) -> Iterator[Page]:
    """A phone-sized page that reads the portal in English (its French is tested apart)."""
    context = browser.new_context(
        viewport=PHONE, locale="en-GB", base_url=live_url, timezone_id="Europe/Paris"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def on_console(message) -> None:
        # An error page the test navigates to on purpose (403, 404) is not a script error.
        document_status = message.text.startswith("Failed to load resource") and (
            message.location.get("url") == page.url
        )
        if message.type == "error" and not document_status:
            errors.append(message.text)

    page.on("console", on_console)
    yield page
    context.close()
    until_sockets_closed(daphne_server[1])
    # A CSP violation or a script error is a bug even when the journey passed.
    assert errors == [], errors


def snap(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def snap_widths(page: Page, name: str) -> None:
    """The same screen at a phone's and at a desktop's width."""
    size = page.viewport_size
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        snap(page, f"{name}-{label}")
    page.set_viewport_size(size)


def current_code(user) -> str:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{value:0{device.digits}d}"


def sign_in(page: Page, email: str, password: str = factories.PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in_staff(page: Page, user) -> None:
    """Password, then the authenticator code, as a member of the team does every morning."""
    sign_in(page, user.email)
    page.get_by_label("Code").fill(current_code(user))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/")
