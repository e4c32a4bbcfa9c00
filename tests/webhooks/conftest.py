"""Webhook fixtures: a receiver on 127.0.0.1 (200, 500 or hanging), an endpoint pointing at it,
and booking's fixtures (Filou, two vets, a consultation, the frozen clock)."""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.booking.conftest import (  # noqa: F401  (fixtures, used by name)
    _english,
    consultation,
    dubois,
    filou,
    fontaine,
    frozen,
    rules,
)
from webhooks import services
from webhooks.models import Event


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local stub: `mode` is "ok" (200), "error" (500) or "hang" (no answer until released)."""

    url: str = ""
    mode: str = "ok"
    received: list[Received] = field(default_factory=list)
    got_one: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.received.append(
                Received({k.lower(): v for k, v in self.headers.items()}, body)
            )
            receiver.got_one.set()
            if receiver.mode == "hang":
                receiver.release.wait(30)
                return
            code = 200 if receiver.mode == "ok" else 500
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    stub = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield stub
    stub.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _local_http(settings) -> None:
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True
    settings.WEBHOOKS_TIMEOUT_SECONDS = 1


@pytest.fixture
def endpoint(clinic, receiver, manager):
    made, secret = services.create_endpoint(
        name="Assistant", url=receiver.url, events=list(Event.values), by=manager
    )
    made.secret = secret  # what the page showed once, kept for the tests' checks
    return made
