"""The websocket origin check compares the whole origin, scheme://host:port (portal/asgi.py).

channels' AllowedHostsOriginValidator compared the host only: a page on http:// or on another
port of the clinic's host could open a socket carrying the visitor's session cookie.
"""

import pytest
from django.test import override_settings

from portal.asgi import origin_allowed


def scope(origin: str | None, *, host: str = "clinique.example", scheme: str = "wss", **more):
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    headers += [(name.encode(), value.encode()) for name, value in more.items()]
    return {"type": "websocket", "scheme": scheme, "headers": headers}


PUBLISHED = override_settings(
    ACCUEIL_BASE_URL="https://clinique.example",
    ALLOWED_HOSTS=["clinique.example", "127.0.0.1"],
    CSRF_TRUSTED_ORIGINS=["https://*.groupe.example", "https://admin.example:8443"],
    SECURE_PROXY_SSL_HEADER=None,
)


@PUBLISHED
def test_the_published_origin_is_accepted():
    assert origin_allowed(scope("https://clinique.example"))
    assert origin_allowed(scope("https://clinique.example:443"))  # the same origin, spelled out
    assert origin_allowed(scope("https://CLINIQUE.example", scheme="ws"))  # behind a TLS proxy


@PUBLISHED
@pytest.mark.parametrize(
    "origin",
    [
        "http://clinique.example",  # wrong scheme
        "https://clinique.example:8443",  # wrong port
        "https://evil.example",
        "https://clinique.example.evil.example",
        "null",
        "",
    ],
)
def test_a_wrong_scheme_port_or_host_is_refused(origin):
    assert not origin_allowed(scope(origin))


@PUBLISHED
def test_no_origin_is_refused():
    assert not origin_allowed(scope(None))


@PUBLISHED
def test_csrf_trusted_origins_count_with_their_scheme_and_port():
    assert origin_allowed(scope("https://lyon.groupe.example", host="lyon.groupe.example"))
    assert not origin_allowed(scope("http://lyon.groupe.example", host="lyon.groupe.example"))
    assert origin_allowed(scope("https://admin.example:8443", host="clinique.example"))
    assert not origin_allowed(scope("https://admin.example", host="clinique.example"))


@PUBLISHED
def test_the_sockets_own_origin_is_accepted_when_its_host_is_allowed():
    # make run, tests, a second address: Origin equal to the socket's own scheme, host and port.
    assert origin_allowed(scope("http://127.0.0.1:8123", host="127.0.0.1:8123", scheme="ws"))
    assert not origin_allowed(scope("http://127.0.0.1:9999", host="127.0.0.1:8123", scheme="ws"))
    assert not origin_allowed(scope("https://127.0.0.1:8123", host="127.0.0.1:8123", scheme="ws"))
    # A host ALLOWED_HOSTS does not name is nobody's own origin.
    assert not origin_allowed(scope("http://other.example", host="other.example", scheme="ws"))


@override_settings(
    ACCUEIL_BASE_URL="https://clinique.example",
    ALLOWED_HOSTS=["clinique.example", "10.0.0.5"],
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)
def test_behind_the_proxy_the_forwarded_scheme_counts():
    forwarded = {"x-forwarded-proto": "https"}
    assert origin_allowed(
        scope("https://10.0.0.5:8443", host="10.0.0.5:8443", scheme="ws", **forwarded)
    )
    assert not origin_allowed(scope("https://10.0.0.5:8443", host="10.0.0.5:8443", scheme="ws"))
