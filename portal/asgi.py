"""ASGI entry point: HTTP through Django, websockets through Channels.

Websocket routes are collected from the apps that have them (messaging), behind the origin
check and the session-based auth stack.

The origin check compares the whole origin, scheme://host:port (channels' own
AllowedHostsOriginValidator compared the host only, so a page on http://, or on another port of
the same host, could open a socket with the visitor's cookies). A websocket's Origin must be:
- the origin of ACCUEIL_BASE_URL (the address the clinic publishes), or
- one of CSRF_TRUSTED_ORIGINS (same syntax as Django's, "https://*.example.com" included), or
- the socket's own origin: its Host header (which ALLOWED_HOSTS must allow) with the scheme it
  came in on (ws → http, wss → https; behind a proxy, SECURE_PROXY_SSL_HEADER says https), as
  Django's CSRF check accepts a same-origin form.
A missing or "null" Origin is refused.
"""

import os
from urllib.parse import urlsplit

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import WebsocketDenier  # noqa: E402
from django.conf import settings  # noqa: E402
from django.http.request import is_same_domain, split_domain_port, validate_host  # noqa: E402

from portal.lib import uploads  # noqa: E402
from portal.lib.logs import WebsocketLogMiddleware  # noqa: E402
from portal.routing import websocket_urlpatterns  # noqa: E402

# Request bodies (uploads) are buffered encrypted, never in clear, by daphne and by Django's ASGI
# handler alike (portal/lib/uploads.py).
uploads.encrypt_daphne_request_bodies()
django_asgi_app = uploads.EncryptedBodyASGIHandler()

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, the port made explicit; None if it is not one."""
    try:
        parts = urlsplit(url.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def _own_origin(scope: dict, headers: dict[bytes, bytes]) -> tuple[str, str, int] | None:
    host = headers.get(b"host", b"").decode("latin-1")
    domain, _port = split_domain_port(host)
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
    if not domain or not validate_host(domain, allowed_hosts):
        return None
    secure = scope.get("scheme") == "wss"
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header:
        name, value = proxy_header
        forwarded = name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
        secure = secure or headers.get(forwarded, b"").decode("latin-1") == value
    return _origin(f"{'https' if secure else 'http'}://{host}")


def origin_allowed(scope: dict) -> bool:
    headers = dict(scope.get("headers") or [])
    claimed = _origin(headers.get(b"origin", b"").decode("latin-1"))
    if claimed is None:
        return False
    if claimed in (_origin(settings.ACCUEIL_BASE_URL), _own_origin(scope, headers)):
        return True
    scheme, host, port = claimed
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        wildcard = "://*." in trusted
        pattern = _origin(trusted.replace("://*.", "://", 1))
        if pattern is None or pattern[0] != scheme or pattern[2] != port:
            continue
        if host == pattern[1] or (wildcard and is_same_domain(host, "." + pattern[1])):
            return True
    return False


class OriginValidator:
    """Websockets whose Origin is not exactly one of ours are refused at the handshake."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # One log line per websocket (path, user id, close code), written once the session has
        # named the user: portal/lib/logs.py.
        "websocket": OriginValidator(
            AuthMiddlewareStack(WebsocketLogMiddleware(URLRouter(websocket_urlpatterns())))
        ),
    }
)
