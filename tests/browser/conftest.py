"""Playwright on Debian's chromium, against daphne serving the real ASGI application.

pytest-django's live server speaks WSGI only, and pages open websockets (live unread counts,
conversations), so daphne runs in a thread of this process for the whole session, sharing the
test database. Every journey gets a fresh browser context; under `make screenshots`
(ACCUEIL_SCREENSHOTS=1) `snap` saves a screenshot at the current width and `snap_widths` at a
phone's and a desktop's, into tests/browser/screenshots/ (ignored by git).

Signing in: `sign_in` and `sign_in_staff` post the sign-in form (and the code) from this
process through the real views, hand the browser the session cookie and open the page the form
leads to; `sign_in_with_form` and `sign_in_staff_with_form` type them, for the journeys whose
subject is signing in (the foundation and demo journeys).

Languages: `page_fr` reads the portal in French (the clinic's default), `page` in English;
`any_page` with `say(french, english)` runs a journey once in each.

Accessibility: every page and every htmx swap a journey acts on is checked with axe-core, in
light and dark, and any serious or critical violation fails the journey (see `check_a11y`); a
state this worker already found clean (same page, viewport, focus and HTML) is not run again.

One chromium serves a worker's journeys one after another (see `_chromium`).

The clock: journeys that book "in the next days" travel (`clock`, time_machine, ticking) to a
fixed weekday and hour, so they hold at any real hour: "sunday-night" (Sunday 23:30 in Paris,
when tomorrow's slots fall inside the 24-hour cut-off and today is closed) and "weekday"
(Wednesday 10:00, mid-morning with the day half gone). The instant is the NEXT such one after
the real date, not a fixed date: daphne runs in this process and sees the travelled clock, but
chromium does not, and it would drop cookies the server dated in its past (the session lasts
12 hours). Chromium's own clock is left alone: no page script reads the time.
"""

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

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


# What the speed-ups save, counted per worker (see pytest_sessionfinish).
COUNTS: dict[str, float] = {
    "chromium_launches": 0,
    "axe_runs": 0,
    "axe_already_clean": 0,
    "axe_seconds": 0,
    "sign_ins_posted": 0,
    "sign_ins_typed": 0,
}


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stops this worker's chromium. With ACCUEIL_BROWSER_COUNTS=<file>, each worker adds a
    line: its chromium launches, its axe checks (run, skipped as already clean, seconds spent),
    its sign-ins (posted, or typed in the form)."""
    _stop_chromium()
    path = os.environ.get("ACCUEIL_BROWSER_COUNTS")
    if path and any(COUNTS.values()):
        with open(path, "a") as counts:
            counts.write(json.dumps({k: round(v, 1) for k, v in COUNTS.items()}) + "\n")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


# One chromium per worker while browser journeys follow one another, not one per file (a launch
# costs a few seconds on a busy machine). Playwright's sync API keeps an asyncio loop running in
# this thread while it lives, and the tests that are not journeys (async websocket consumers,
# async_to_sync) need the thread free: it is stopped before any of them runs, and started again
# for the next journey.
_CHROMIUM: list = []  # [playwright, browser] while running


def _chromium() -> Browser:
    if _CHROMIUM and not _CHROMIUM[1].is_connected():
        _stop_chromium()  # it crashed: a new one for the next journeys
    if not _CHROMIUM:
        playwright = sync_playwright().start()
        try:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        except BaseException:
            playwright.stop()
            raise
        _CHROMIUM[:] = [playwright, browser]
        COUNTS["chromium_launches"] += 1
    return _CHROMIUM[1]


def _stop_chromium() -> None:
    if not _CHROMIUM:
        return
    playwright, browser = _CHROMIUM
    _CHROMIUM.clear()
    try:
        browser.close()
    finally:
        playwright.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if item.get_closest_marker("browser") is None:
        _stop_chromium()


@pytest.fixture(scope="module")
def browser() -> Browser:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        message = "needs Debian's chromium (apt-get install chromium; `make test` installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return _chromium()


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


def off_the_loop(function, /, *args, **kwargs):
    """Run a service from a plain thread and return what it returned (or raise what it raised):
    Playwright's event loop owns the test's thread, and what runs after commit (live notices,
    the waitlist's offers, notifications) goes through async_to_sync."""
    result, failure = [], []

    def run() -> None:
        try:
            result.append(function(*args, **kwargs))
        except Exception as error:
            failure.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    # A notice went through the in-memory channel layer from that thread's own event loop: it
    # woke the consumer's waiting future on daphne's loop without waking the loop itself
    # (asyncio's call_soon is not thread-safe), so the page heard it only at the loop's next
    # I/O. A callFromThread wakes it, as a notice sent by one of daphne's own requests would.
    from twisted.internet import reactor

    reactor.callFromThread(lambda: None)
    if failure:
        raise failure[0]
    return result[0]


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
def live_url(daphne_server, one_database, clearable_access_log) -> str:
    # Any journey may write access-log lines (a refusal is logged too): empty them at the end.
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


# Accessibility: axe-core (tests/browser/vendor/, test-only) is added to every document of a
# journey's context as an init script, which the site's CSP does not govern (add_script_tag would
# be refused by script-src 'self'). A mark on <html> says a check is due once the document has
# loaded or htmx has settled a swap; Playwright runs a locator handler before every action and
# every expect() while the mark is there, and the page fixture's goto and teardown check too.
# So every page and every swapped state a journey acts on is checked, in light and in dark,
# without the journey asking. (A route handler could not do it: in Playwright's sync API it may
# not wait for the page.)
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
A11Y_MARKS = """
const a11yDue = () => { document.documentElement.dataset.a11yDue = ""; };
addEventListener("load", () => { if (document.contentType === "text/html") a11yDue(); });
document.addEventListener("htmx:afterSettle", a11yDue);
"""
A11Y_DUE = "html[data-a11y-due]"
A11Y_RUN = """async (rules) => {
  delete document.documentElement.dataset.a11yDue;
  // No CSSOM preload: axe would re-import every stylesheet through an inline <style>, which the
  // CSP refuses (a console error that fails the journey).
  const options = {resultTypes: ["violations"], preload: false};
  if (rules) options.runOnly = {type: "rule", values: rules};
  const result = await axe.run(document, options);
  // Template syntax on screen is a template bug (a {# #} comment over two lines prints).
  const leaked = (document.body ? document.body.innerText : "").match(/\\{[#%][^\\n]{0,60}/);
  if (leaked && !rules) {
    result.violations.push({
      id: "template-syntax-shown", impact: "serious", help: "Template syntax shown on the page",
      nodes: [{target: ["body"], failureSummary: leaked[0]}],
    });
  }
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 4).map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
    }));
}"""
# Two style sheets axe itself injects to look under pointer-events and visibility: the CSP refuses
# them (sha256 of "* { pointer-events: all }" and "* { visibility: visible }"); not the page's.
AXE_STYLE_HASHES = (
    "dtow2uQnNzc2BSIbgYxXmOxQO9Y19oLLJXXU8fgm6YM=",
    "GyRNjloyS8Nlc8O3gmgozYv4PCfJIa+NNjbN0UVVTCw=",
)
# Dark mode changes colours only: the second pass runs the colour rules alone.
DARK_RULES = ["color-contrast", "link-in-text-block"]
SCHEMES = ("light", "dark")


# What a check depends on, as a key: the page's shape, not its words or its numbers. axe's rules
# look at elements, roles, attributes, colours and whether a name or a text is there, not at what
# it says: so the key is the path and query and the HTML with every run of digits made 0 (ids,
# dates, counts), every text and every word-carrying attribute (labels, titles, values) reduced to
# "there or not", and the language marks (<html lang>, the switcher's selected option) dropped,
# plus the viewport, the element with focus and the one under the mouse (their styles may change
# a colour) and whether template syntax shows (the check's own text rule). A journey's English
# run then reuses its French run's checks where the pages have the same shape, and so do two
# journeys through the same page with other rows. Reading the key also clears the mark, so a state
# already checked is not asked again; both colour schemes are checked each time.
A11Y_STATE = """() => {
  delete document.documentElement.dataset.a11yDue;
  const all = Array.from(document.querySelectorAll("*"));
  const hovered = Array.from(document.querySelectorAll(":hover")).pop();
  const leaked = /\\{[#%]/.test(document.body ? document.body.innerText : "");
  const root = document.documentElement.cloneNode(true);
  const languageMarks = ["lang", "hreflang", "selected"];
  const words = ["aria-label", "aria-description", "aria-valuetext", "title", "alt",
    "placeholder", "value", "content"];
  for (const element of [root, ...root.querySelectorAll("*")]) {
    for (const name of languageMarks) element.removeAttribute(name);
    for (const name of words) {
      const value = element.getAttribute(name);
      if (value !== null) element.setAttribute(name, value.trim() ? "T" : "");
    }
  }
  for (const element of root.querySelectorAll("[hx-headers]")) {
    element.setAttribute("hx-headers", element.getAttribute("hx-headers")
      .replace(/"X-CSRFToken"\\s*:\\s*"[^"]*"/i, ""));
  }
  const texts = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let text = texts.nextNode(); text; text = texts.nextNode()) {
    text.data = text.data.trim() ? "T" : "";
  }
  const html = root.outerHTML.replace(/[0-9]+/g, "0");
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;  // cyrb53
  for (let i = 0; i < html.length; i++) {
    const c = html.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [
    (location.pathname + location.search).replace(/[0-9]+/g, "0"), leaked,
    `${innerWidth}x${innerHeight}`, all.indexOf(document.activeElement), all.indexOf(hovered),
    `${html.length}:${(h2 >>> 0).toString(16)}${(h1 >>> 0).toString(16)}`,
  ].join(" ");
}"""
# The states this worker has checked and found clean, in both schemes. A state with a violation
# is never remembered: every journey that reaches it fails.
_A11Y_CLEAN: set[str] = set()


def _axe(page: Page) -> list[str]:
    """The page's violations in light then dark; none when this worker already found the very
    same state clean."""
    found = []
    started = time.monotonic()
    try:
        state = page.evaluate(A11Y_STATE)
        if state in _A11Y_CLEAN:
            COUNTS["axe_already_clean"] += 1
            return found
        COUNTS["axe_runs"] += 1
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            rules = DARK_RULES if scheme == "dark" else None
            for violation in page.evaluate(A11Y_RUN, rules):
                nodes = "\n    ".join(violation["nodes"])
                found.append(
                    f"{page.url} ({scheme}) {violation['impact']} {violation['id']}: "
                    f"{violation['help']}\n    {nodes}"
                )
        if not found:
            _A11Y_CLEAN.add(state)
    except PlaywrightError as error:
        if "destroyed" not in str(error) and "closed" not in str(error):
            raise
        # The page left meanwhile (a click's navigation): its successor is checked in turn.
    finally:
        if not page.is_closed():
            page.emulate_media(color_scheme="light")
        COUNTS["axe_seconds"] += time.monotonic() - started
    return found


def check_a11y(page: Page) -> None:
    """Fail now on any serious or critical axe violation of the page as it stands, in the light
    and the dark colour schemes. Journeys on `page`/`page_fr` need not call it (see above)."""
    found = _axe(page)
    assert found == [], "\n".join(found)


def _checked_as_it_goes(page: Page, found: list[str]) -> None:
    page.add_locator_handler(
        page.locator(A11Y_DUE), lambda: found.extend(_axe(page)), no_wait_after=True
    )
    goto = page.goto

    def checked_goto(*args, **kwargs):
        _check_if_due(page, found)
        return goto(*args, **kwargs)

    page.goto = checked_goto


def _check_if_due(page: Page, found: list[str]) -> None:
    if not page.is_closed() and page.locator(A11Y_DUE).count():
        found.extend(_axe(page))


LANGUAGE_LOCALES = {"fr": "fr-FR", "en": "en-GB"}
# Off until the pages journeys visit pass: then every page a journey leaves is checked.
A11Y_AUTOMATIC = True


def open_page(browser: Browser, base_url: str, language: str = "fr") -> tuple[Page, list[str]]:
    """A phone-sized page in a fresh context, reading the portal in `language` (its locale,
    Accept-Language and the language cookie agree), axe-checked as it goes. Returns the page and
    the list its script errors, CSP violations and accessibility violations land in; close it
    with `close_page`."""
    context = browser.new_context(
        viewport=PHONE,
        locale=LANGUAGE_LOCALES[language],
        base_url=base_url,
        timezone_id="Europe/Paris",
        reduced_motion="reduce",  # no colour transition under axe's contrast check
    )
    context.add_cookies([{"name": "django_language", "value": language, "url": base_url}])
    context.add_init_script(path=AXE)
    context.add_init_script(A11Y_MARKS)
    context.set_default_timeout(10_000)
    context.accueil_site = (base_url, language)  # for `sign_in`
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def on_console(message) -> None:
        # An error page the test navigates to on purpose (403, 404) is not a script error.
        document_status = message.text.startswith("Failed to load resource") and (
            message.location.get("url") == page.url
        )
        axe_style = any(digest in message.text for digest in AXE_STYLE_HASHES)
        # Chromium asks for /favicon.ico around a download; the portal links its own icon.
        favicon = message.location.get("url", "").endswith("/favicon.ico")
        if message.type == "error" and not (document_status or axe_style or favicon):
            errors.append(f"{message.text} (at {message.location.get('url')})")

    page.on("console", on_console)
    if A11Y_AUTOMATIC:
        _checked_as_it_goes(page, errors)
    return page, errors


def check_before_closing(page: Page, errors: list[str]) -> None:
    """The last state of a page opened with `open_page`, checked before its context closes."""
    if A11Y_AUTOMATIC:
        _check_if_due(page, errors)


def close_page(page: Page, errors: list[str], server) -> None:
    check_before_closing(page, errors)
    page.context.close()
    until_sockets_closed(server)
    # A CSP violation, a script error or an accessibility violation is a bug even when the
    # journey passed.
    assert errors == [], "\n".join(errors)


@pytest.fixture
def other_page(browser: Browser, daphne_server, live_url, language) -> Iterator[Callable]:
    """More browsers in the journey's language (staff at their desks, a second client, a
    stranger), each checked like `page` (script, CSP and accessibility errors) and closed at the
    end: `other_page()` opens one on a desktop, `other_page(PHONE)` on a phone."""
    opened: list[tuple[Page, list[str]]] = []

    def open_one(viewport: dict | None = DESKTOP) -> Page:
        page, errors = open_page(browser, live_url, language)
        if viewport is not None:
            page.set_viewport_size(viewport)
        opened.append((page, errors))
        return page

    yield open_one
    found = []
    for page, errors in opened:
        check_before_closing(page, errors)
        page.context.close()
        found += errors
    until_sockets_closed(daphne_server[1])
    assert found == [], "\n".join(found)


@pytest.fixture
def page(browser: Browser, daphne_server, live_url) -> Iterator[Page]:
    """A phone-sized page that reads the portal in English."""
    page, errors = open_page(browser, live_url, "en")
    yield page
    close_page(page, errors, daphne_server[1])


@pytest.fixture
def page_fr(browser: Browser, daphne_server, live_url) -> Iterator[Page]:
    """A phone-sized page that reads the portal in French, the clinic's default language."""
    page, errors = open_page(browser, live_url, "fr")
    yield page
    close_page(page, errors, daphne_server[1])


@pytest.fixture(params=["fr", "en"])
def language(request) -> str:
    return request.param


@pytest.fixture
def any_page(request, language) -> Page:
    """The journey once in French (`page_fr`), once in English (`page`); with `say`."""
    return request.getfixturevalue("page_fr" if language == "fr" else "page")


@pytest.fixture
def say(language):
    """`say("Prendre rendez-vous", "Book an appointment")`: the words of the page's language."""
    return lambda french, english: french if language == "fr" else english


# A screenshot is a full-page render and a PNG (about 190 a run, a tenth of the journeys' CPU):
# `make test` leaves them out, `make screenshots` (ACCUEIL_SCREENSHOTS=1) runs the journeys and
# takes them.
SCREENSHOTS_TAKEN = os.environ.get("ACCUEIL_SCREENSHOTS") == "1"


def snap(page: Page, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    if not SCREENSHOTS_TAKEN:
        return path
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=path, full_page=True)
    return path


def snap_widths(page: Page, name: str) -> None:
    """The same screen at a phone's and at a desktop's width."""
    if not SCREENSHOTS_TAKEN:
        return
    size = page.viewport_size
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        snap(page, f"{name}-{label}")
    page.set_viewport_size(size)


def current_code(user) -> str:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{value:0{device.digits}d}"


def _language(page: Page) -> str:
    return page.locator("html").get_attribute("lang") or "fr"


def sign_in_with_form(page: Page, email: str, password: str = factories.PASSWORD) -> None:
    """Signs in through the form, in the page's language. The fields are found by name: their
    words belong to the sign-in page's own journey, and the catalogue moves under everyone."""
    COUNTS["sign_ins_typed"] += 1
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form[action$='/accounts/login/'] button[type=submit]").click()


def sign_in_staff_with_form(page: Page, user, password: str = factories.PASSWORD) -> None:
    """Password, then the authenticator code, as a member of the team does every morning."""
    sign_in_with_form(page, user.email, password)
    page.get_by_label("Code").fill(current_code(user))
    page.get_by_role("button", name="Continuer" if _language(page) == "fr" else "Continue").click()
    page.wait_for_url("**/")


def sign_in(page: Page, email: str, password: str = factories.PASSWORD) -> None:
    """Signed in, on the page the sign-in form leads to (the dashboard; the code page for an
    account with an authenticator). The form is posted by Django's test client to the same
    views (allauth's sign-in, its list of sign-ins, the session limits), and the browser is
    handed the session cookie: the sign-in pages belong to the journeys that are about them,
    which use `sign_in_with_form`. A refused sign-in goes through the form, whose page then
    says why (it counts as one more failed attempt)."""
    landing = _signed_in_by_post(page, email, password)
    if landing is None:
        sign_in_with_form(page, email, password)
    else:
        page.goto(landing)


def sign_in_staff(page: Page, user, password: str = factories.PASSWORD) -> None:
    """Signed in past the second factor, on the dashboard: `sign_in`'s way, with the code
    posted to the code page (`sign_in_staff_with_form` types both)."""
    landing = _signed_in_by_post(page, user.email, password, code_of=user)
    if landing is None:
        sign_in_staff_with_form(page, user, password)
    else:
        page.goto(landing)


def _signed_in_by_post(page: Page, email: str, password: str, *, code_of=None) -> str | None:
    """Posts the sign-in form (and the code, for `code_of`) from this process, as the page's
    browser would, gives the browser the session cookie, and returns where the browser would
    go next; None (nothing changed) when the password is refused or the page is not
    `open_page`'s."""
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    context = page.context
    base_url, language = getattr(context, "accueil_site", (None, None))
    if base_url is None:
        return None
    global _USER_AGENT
    if _USER_AGENT is None:
        _USER_AGENT = page.evaluate("navigator.userAgent")
    http = Client(
        headers={"user-agent": _USER_AGENT, "accept-language": LANGUAGE_LOCALES[language]}
    )
    http.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    answer = http.post("/accounts/login/", {"login": email, "password": password})
    if answer.status_code != 302:
        return None
    landing = answer["Location"]
    if code_of is not None:
        code = {"token": current_code(code_of), "next": landing}
        answer = http.post(reverse("portal:otp_verify"), code)
        assert answer.status_code == 302, f"the code page refused {code_of.email}'s code"
        landing = answer["Location"]
    session = http.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [
            {
                "name": session.key,
                "value": session.value,
                "url": base_url,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    COUNTS["sign_ins_posted"] += 1
    return landing


_USER_AGENT: str | None = None


PARIS = ZoneInfo("Europe/Paris")
INSTANTS = {"sunday-night": (6, clock_time(23, 30)), "weekday": (2, clock_time(10))}


def next_instant(name: str, now: datetime | None = None) -> datetime:
    """The next weekday and hour of INSTANTS[name] in Paris, at least a day after `now` (the
    real clock's, even under ACCUEIL_TEST_NOW: chromium's cookies follow the real one)."""
    weekday, at = INSTANTS[name]
    if now is None:
        hatch = time_machine.escape_hatch
        now = hatch.datetime.datetime.now(PARIS) if hatch.is_travelling() else datetime.now(PARIS)
    today = now.astimezone(PARIS).date() + timedelta(days=1)
    day = today + timedelta(days=(weekday - today.weekday()) % 7)
    return datetime.combine(day, at, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _browser_test_now(_test_clock, start_instant: str) -> Iterator[None]:
    """Under ACCUEIL_TEST_NOW the root conftest travels to a fixed date, which may be months
    before the real one, where chromium would drop every session cookie: the journeys go to the
    same weekday and hour after the real date instead."""
    if not start_instant:
        yield
        return
    wanted = datetime.fromisoformat(start_instant).astimezone(PARIS)
    real = time_machine.escape_hatch.datetime.datetime.now(PARIS)
    day = real.date() + timedelta(days=1)
    day += timedelta(days=(wanted.weekday() - day.weekday()) % 7)
    with time_machine.travel(datetime.combine(day, wanted.time(), tzinfo=PARIS), tick=True):
        yield


@pytest.fixture(params=["weekday"])
def clock(request) -> Iterator[datetime]:
    """Travels (ticking) to a named instant; parametrize it indirectly with "sunday-night"."""
    start = next_instant(request.param)
    with time_machine.travel(start, tick=True):
        yield start


@pytest.fixture
def demo_clinic(clock, live_url):
    """The demo clinic of `manage.py seed_demo`, seeded at the journey's instant: Camille
    Martin and her animals, the three vets with their hours, forty appointments around today.

    Seeded from a plain thread: Playwright's event loop owns this one, and the apps announce
    what they create through async_to_sync after commit."""
    from django.apps import apps

    from portal.demo import Demo

    demo = Demo()
    failures: list[BaseException] = []

    def seed() -> None:
        try:
            for config in apps.get_app_configs():
                if hasattr(config, "seed_demo"):
                    config.seed_demo(demo)
        except BaseException as error:  # re-raised in the test's thread
            failures.append(error)

    thread = threading.Thread(target=seed)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]
    return demo


def demo_user(first: str, last: str):
    from portal.demo import client_email
    from portal.models import User

    return User.objects.get(email=client_email(first, last))


def demo_staff(email_name: str):
    from portal.demo import DEMO_DOMAIN
    from portal.models import User

    return User.objects.get(email=f"{email_name}@{DEMO_DOMAIN}")
