"""One log line per request and per websocket: what they carry, and what they never carry."""

import io
import json
import logging

import pytest
from channels.testing import WebsocketCommunicator
from django.db import OperationalError
from django.urls import reverse

from portal.asgi import application  # imported early: it sets up logging once, not mid-test
from portal.lib import logs
from portal.lib.net import client_ip
from portal.models import Clinic
from tests import factories


@pytest.fixture
def request_lines(caplog):
    caplog.set_level(logging.INFO, logger="accueil.request")
    return caplog


def lines_of(caplog, name="accueil.request"):
    return [record for record in caplog.records if record.name == name]


def test_a_page_gives_one_line_with_id_user_path_status_and_duration(
    as_client, client_user, request_lines
):
    response = as_client.get(reverse("portal:home") + "?next=secret-query")
    assert response.status_code == 200
    (line,) = lines_of(request_lines)
    assert line.path == reverse("portal:home")  # the query string never reaches the log
    assert "secret-query" not in line.getMessage()
    assert line.status == 200
    assert line.user_id == client_user.pk
    assert line.method == "GET"
    assert line.duration_ms >= 0
    assert len(line.request_id) == 32
    assert response["X-Request-ID"] == line.request_id


def test_no_name_of_an_animal_or_a_person_reaches_the_logs(as_client, client_user, clinic, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="accueil.request")
    patient = factories.make_patient(client_user, name="Gribouille")
    as_client.get(reverse("records:animal", args=[patient.pk]))
    as_client.get(reverse("records:my_animals"))
    text = "\n".join(
        record.getMessage() + " " + json.dumps(record.__dict__, default=str)
        for record in caplog.records
    )
    assert "accueil.request" in text
    assert "Gribouille" not in text
    assert client_user.email not in text


def test_health_checks_are_not_logged(client, request_lines):
    client.get("/healthz")
    assert lines_of(request_lines) == []


def test_the_proxy_request_id_is_kept_only_behind_a_trusted_proxy(
    client, clinic, settings, request_lines
):
    login = reverse("account_login")
    offered = "abcdef0123456789-nginx"
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    assert client.get(login, HTTP_X_REQUEST_ID=offered)["X-Request-ID"] != offered
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    assert client.get(login, HTTP_X_REQUEST_ID=offered)["X-Request-ID"] == offered
    assert lines_of(request_lines)[-1].request_id == offered
    # A malformed one (a log-injection attempt) is replaced.
    assert client.get(login, HTTP_X_REQUEST_ID="x\nforged")["X-Request-ID"] != "x\nforged"


def test_json_lines_carry_the_request_id_of_the_request_being_served():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    config = logs.logging_config(level="INFO", fmt="json", request_lines=True)
    handler.setFormatter(_json_formatter(config))
    handler.addFilter(logs.RequestIdFilter())
    logger = logging.getLogger("tests.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        token = logs.current_request_id.set("req-1234567890")
        logger.warning("booking refused", extra={"status": 409})
        logs.current_request_id.reset(token)
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["message"] == "booking refused"
    assert line["level"] == "WARNING"
    assert line["logger"] == "tests.json"
    assert line["request_id"] == "req-1234567890"
    assert line["status"] == 409
    assert "time" in line


def _json_formatter(config):
    spec = dict(config["formatters"]["json"])
    factory = spec.pop("()")
    module, _, name = factory.rpartition(".")
    import importlib

    return getattr(importlib.import_module(module), name)(**spec)


@pytest.mark.asyncio
async def test_a_websocket_gives_one_line_with_its_path_and_close_code(caplog):
    caplog.set_level(logging.INFO, logger="accueil.websocket")

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4401})

    messages = [{"type": "websocket.connect"}]

    async def receive():
        return messages.pop(0)

    async def send(message):
        pass

    scope = {"type": "websocket", "path": "/ws/messages/12/", "user": None}
    await logs.WebsocketLogMiddleware(app)(scope, receive, send)
    (line,) = lines_of(caplog, "accueil.websocket")
    assert line.path == "/ws/messages/12/"
    assert line.close_code == 4401
    assert line.accepted is True
    assert line.user_id is None


@pytest.mark.parametrize(
    ("hops", "remote", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "", "203.0.113.9"),
        (0, "127.0.0.1", "198.51.100.7", "127.0.0.1"),  # no proxy trusted: the header is ignored
        (1, "127.0.0.1", "198.51.100.7", "198.51.100.7"),
        (1, "127.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the client's own is ignored
        (1, "127.0.0.1", "", None),
        (1, "127.0.0.1", "not-an-ip", None),
    ],
)
def test_client_ip_trusts_exactly_the_configured_hops(
    rf, settings, hops, remote, forwarded, expected
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = hops
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.parametrize(
    ("language", "sentences"),
    [
        ("fr", ["brièvement indisponible", "regardez vos rendez-vous"]),
        ("en", ["look at your appointments or messages before trying again"]),
    ],
)
def test_a_database_outage_gives_a_503_that_says_what_to_do(
    client, db, monkeypatch, language, sentences
):
    client.raise_request_exception = False

    def unreachable(cls):
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch:
        patch.setattr(Clinic, "current", classmethod(unreachable))
        client.cookies["django_language"] = language
        response = client.get(reverse("account_login"))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    for sentence in sentences:
        assert sentence in page


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clearable_access_log")  # the refusal is in the access log too
async def test_the_real_application_logs_a_refused_websocket_without_its_content(caplog):
    caplog.set_level(logging.INFO, logger="accueil.websocket")
    headers = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1:8000")]
    comm = WebsocketCommunicator(application, "/ws/conversations/999/?token=secret", headers)
    connected, _code = await comm.connect()
    assert not connected  # anonymous: refused at the handshake
    await comm.wait(timeout=2)
    (line,) = lines_of(caplog, "accueil.websocket")
    assert line.path == "/ws/conversations/999/"  # no query string
    assert line.user_id is None
    assert line.accepted is False
    assert line.close_code == 4403
