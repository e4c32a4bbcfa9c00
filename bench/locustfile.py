"""An evening rush on the client side of the portal, for locust (`make bench-load`, bench/load.py).

Each simulated owner is one account from bench/load_data.py (LOAD_ACCOUNTS, a JSON file) and
comes from an address of its own (127.0.x.y: loopback is a whole /8), as owners on their phones
do; the sign-in limits count per address, so 300 owners behind one address would be 300 sign-ins
from one person. A share of them (LOAD_LOGIN_SHARE) signs in through the form; the others come
back with the session an earlier sign-in left (bench/load_data.py writes it as auth.login does).

Then, with a few seconds between pages: the dashboard, booking (the page, a day or two of the
strip through htmx's partial, a free time, the confirm page and its POST with its CSRF token and
one-time key; now and then the cancellation, through its form), "My appointments", and the chat
(the first time the form that starts a conversation, then the conversation page and a message
over its websocket, timed until the server answers with the fresh compose form).

Outcomes the server may rightly give under contention are not failures: a time taken by someone
else between the page and the POST (409, "this slot was just taken"), or a booking refused by
the clinic's rules (200 with the reason, e.g. 5 upcoming appointments already). They are counted
and written, with every appointment seen booked and the figures per endpoint, to LOAD_OUT (JSON)
when the run stops; bench/load.py reports them and checks the bookings against the database.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import random
import re
import secrets
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import websocket
from locust import HttpUser, between, events, task
from requests.adapters import HTTPAdapter

ACCOUNTS = json.loads(Path(os.environ["LOAD_ACCOUNTS"]).read_text())
LOGIN_SHARE = float(os.environ.get("LOAD_LOGIN_SHARE", "0.2"))
OUT = os.environ.get("LOAD_OUT")

_numbers = itertools.count()
BOOKED: list[tuple[int, str]] = []
OUTCOMES: Counter[str] = Counter()

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FREE_DAY = re.compile(r'<a href="([^"]+)"[^>]*class="day free')
SLOT_FORM = re.compile(r'<form method="get" action="([^"]+)" class="slot-pick">(.*?)</form>', re.S)
INPUT = re.compile(r"<input\b[^>]*>")
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')
DETAIL = re.compile(r"^/booking/(\d+)/$")
CONVERSATION = re.compile(r"^/messages/(\d+)/$")
COMPOSE_ERROR = re.compile(r'id="compose-error"[^>]*>(.*?)</p>', re.S)


def source_address(number: int) -> str:
    return f"127.0.{1 + number // 250}.{1 + number % 250}"


class FromAddress(HTTPAdapter):
    """Connections leave from one loopback address (one owner, one phone)."""

    def __init__(self, address: str, **kwargs) -> None:
        self.address = address
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def inputs(fragment: str) -> dict[str, str]:
    """name → value of the <input>s in an HTML fragment (hidden fields of a form)."""
    found = {}
    for tag in INPUT.findall(fragment):
        attrs = dict(ATTR.findall(tag))
        if "name" in attrs and attrs.get("type") != "file":
            found[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return found


def form_posting_to(page: str, action: str) -> str:
    """The first POST form of `page` whose action is `action` ("" when there is none)."""
    for match in re.finditer(r"<form\b([^>]*)>(.*?)</form>", page, re.S):
        attrs = dict(ATTR.findall(match.group(1)))
        if attrs.get("method", "").lower() == "post" and attrs.get("action", action) == action:
            return match.group(2)
    return ""


def think(low: float = 1.0, high: float = 3.0) -> None:
    time.sleep(random.uniform(low, high))  # gevent's sleep: locust patches the stdlib


class Owner(HttpUser):
    wait_time = between(2, 6)

    def on_start(self) -> None:
        number = next(_numbers)
        self.account = ACCOUNTS[number % len(ACCOUNTS)]
        adapter = FromAddress(source_address(number))
        self.client.mount("http://", adapter)
        self.conversation: int | None = None
        if random.random() < LOGIN_SHARE:
            self.sign_in()
        else:
            host = urlsplit(self.host).hostname
            self.client.cookies.set("sessionid", self.account["session"], domain=host)

    def sign_in(self) -> None:
        page = self.client.get("/accounts/login/", name="/accounts/login/ [page]")
        token = CSRF.search(page.text or "")
        with self.client.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": token.group(1) if token else "",
                "login": self.account["email"],
                "password": self.account["password"],
            },
            name="/accounts/login/ [POST]",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code == 302 and "login" not in response.headers.get("Location", ""):
                response.success()
                OUTCOMES["signed in"] += 1
            else:
                response.failure(f"sign-in refused ({response.status_code})")
                # Carry on as a returning owner, so the rest of the rush is still measured.
                host = urlsplit(self.host).hostname
                self.client.cookies.set("sessionid", self.account["session"], domain=host)

    # --- pages ---------------------------------------------------------------------------------

    def page(self, path: str, name: str | None = None, expect=(200,), **kwargs):
        with self.client.get(path, name=name or path, catch_response=True, **kwargs) as response:
            if response.status_code not in expect:
                response.failure(f"{response.status_code}")
            elif "/accounts/login/" in response.url:
                response.failure("sent to the sign-in page")
            else:
                response.success()  # an expected 409 too (locust fails every 4xx by default)
            return response

    @task(2)
    def home(self) -> None:
        self.page("/", name="/ (dashboard)")

    @task(1)
    def my_appointments(self) -> None:
        self.page("/booking/", name="/booking/ (mine)")

    @task(5)
    def book(self) -> None:
        response = self.page("/booking/new/", name="/booking/new/ (page)")
        text = response.text or ""
        for _ in range(random.randint(1, 2)):
            days = FREE_DAY.findall(text)
            if not days:
                break
            think(0.5, 2)
            day = html.unescape(random.choice(days))
            response = self.page(
                day, name="/booking/new/?day= (htmx partial)", headers={"HX-Request": "true"}
            )
            text = response.text or ""
        slots = SLOT_FORM.findall(text)
        if not slots or random.random() < 0.3:
            OUTCOMES["browsed only"] += 1
            return
        think()
        action, fields = random.choice(slots)
        # 409: taken since the strip was shown ("this slot was just taken", the nearest times).
        response = self.page(
            html.unescape(action),
            name="/booking/new/confirm/ (page)",
            expect=(200, 409),
            params=inputs(fields),
        )
        form = form_posting_to(response.text or "", "/booking/new/confirm/")
        if not form:
            OUTCOMES[f"confirm page refused the time ({response.status_code})"] += 1
            return
        think()
        data = inputs(form)
        data["reason"] = random.choice(["", "Vaccin annuel", "Il se gratte beaucoup"])
        with self.client.post(
            "/booking/new/confirm/",
            data=data,
            name="/booking/new/confirm/ (POST)",
            allow_redirects=False,
            catch_response=True,
        ) as posted:
            booked = DETAIL.match(urlsplit(posted.headers.get("Location", "")).path)
            if posted.status_code == 302 and booked:
                posted.success()
                OUTCOMES["booked"] += 1
                BOOKED.append((int(booked.group(1)), self.account["email"]))
            elif posted.status_code == 409:
                posted.success()  # "this slot was just taken", with the nearest free times
                OUTCOMES["slot just taken (409)"] += 1
                return
            elif posted.status_code == 200:
                posted.success()  # refused by the rules, the reason on the page
                OUTCOMES["refused by the rules"] += 1
                return
            else:
                posted.failure(f"{posted.status_code}")
                return
        pk = int(booked.group(1))
        detail = self.page(f"/booking/{pk}/", name="/booking/<pk>/")
        cancel_url = f"/booking/{pk}/cancel/"
        if cancel_url not in (detail.text or "") or random.random() < 0.7:
            return
        think()
        page = self.page(cancel_url, name="/booking/<pk>/cancel/ (page)")
        token = CSRF.search(form_posting_to(page.text or "", "") or "")
        with self.client.post(
            cancel_url,
            data={"csrfmiddlewaretoken": token.group(1) if token else "", "reason": ""},
            name="/booking/<pk>/cancel/ (POST)",
            allow_redirects=False,
            catch_response=True,
        ) as posted:
            if posted.status_code == 302:
                posted.success()
                OUTCOMES["cancelled"] += 1
            else:
                posted.failure(f"{posted.status_code}")

    @task(2)
    def chat(self) -> None:
        if self.conversation is None:
            self.start_conversation()
            return
        self.page(f"/messages/{self.conversation}/", name="/messages/<pk>/ (page)")
        think(1, 4)
        self.message_over_websocket()

    def start_conversation(self) -> None:
        page = self.page("/messages/", name="/messages/ (page)")
        form = inputs(form_posting_to(page.text or "", ""))
        form.update(
            subject="Question",
            body=f"Bonjour, une question pour Rex ({secrets.token_hex(3)}).",
            patient=str(self.account["patient"]),
        )
        with self.client.post(
            "/messages/",
            data=form,
            name="/messages/ (POST, new conversation)",
            allow_redirects=False,
            catch_response=True,
        ) as posted:
            started = CONVERSATION.match(urlsplit(posted.headers.get("Location", "")).path)
            if posted.status_code == 302 and started:
                posted.success()
                self.conversation = int(started.group(1))
                OUTCOMES["conversations started"] += 1
            else:
                posted.failure(f"{posted.status_code}")

    def message_over_websocket(self) -> None:
        parts = urlsplit(self.host)
        url = f"ws://{parts.netloc}/ws/conversations/{self.conversation}/"
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.client.cookies)
        fire = self.environment.events.request.fire
        began = time.perf_counter()
        try:
            ws = websocket.create_connection(
                url, timeout=60, cookie=cookie, origin=f"{parts.scheme}://{parts.netloc}"
            )
        except Exception as error:  # every refusal is this request's failure
            fire(
                request_type="WS",
                name="/ws/conversations/<pk>/ (connect)",
                response_time=(time.perf_counter() - began) * 1000,
                response_length=0,
                exception=error,
            )
            return
        fire(
            request_type="WS",
            name="/ws/conversations/<pk>/ (connect)",
            response_time=(time.perf_counter() - began) * 1000,
            response_length=0,
            exception=None,
        )
        try:
            ws.send(json.dumps({"type": "hello", "last_seq": 10**9}))
            ws.recv()  # the catch-up (nothing newer than what the page showed)
            think(1, 3)  # typing
            body = f"Merci, il va mieux ({secrets.token_hex(3)})."
            began = time.perf_counter()
            ws.send(
                json.dumps(
                    {"type": "message", "body": body, "client_token": secrets.token_urlsafe(16)}
                )
            )
            error = None
            length = 0
            while True:
                frame = ws.recv()
                length += len(frame)
                if 'id="compose"' in frame:  # the fresh form: stored (or refused, and why)
                    refused = COMPOSE_ERROR.search(frame)
                    reason = html.unescape(refused.group(1)).strip() if refused else ""
                    if reason:
                        error = RuntimeError(f"message refused: {reason[:80]}")
                    break
            fire(
                request_type="WS",
                name="/ws/conversations/<pk>/ (message → stored)",
                response_time=(time.perf_counter() - began) * 1000,
                response_length=length,
                exception=error,
            )
            if error is None:
                OUTCOMES["chat messages"] += 1
        except Exception as error:  # a lost socket included
            fire(
                request_type="WS",
                name="/ws/conversations/<pk>/ (message → stored)",
                response_time=(time.perf_counter() - began) * 1000,
                response_length=0,
                exception=error,
            )
        finally:
            ws.close()


def _figures(entry) -> dict:
    return {
        "type": entry.method or "",
        "name": entry.name,
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": entry.total_rps,
        "p50": entry.get_response_time_percentile(0.5),
        "p95": entry.get_response_time_percentile(0.95),
        "p99": entry.get_response_time_percentile(0.99),
    }


@events.test_stop.add_listener
def write_outcomes(environment, **_kwargs) -> None:
    """Everything bench/load.py reports, once every owner has stopped (locust's CSV files are
    written every second and may miss the last one)."""
    if not OUT:
        return
    stats = environment.stats
    entries = sorted(stats.entries.values(), key=lambda e: (e.name, e.method or ""))
    Path(OUT).write_text(
        json.dumps(
            {
                "stats": [_figures(e) for e in entries] + [_figures(stats.total)],
                "errors": [
                    {
                        "type": e.method,
                        "name": e.name,
                        "error": str(e.error),
                        "occurrences": e.occurrences,
                    }
                    for e in stats.errors.values()
                ],
                "booked": BOOKED,
                "outcomes": OUTCOMES,
            }
        )
    )
