"""The visitor's IP address, trusting exactly as many proxies as the deployment has.

Behind nginx (one hop: ACCUEIL_TRUSTED_PROXY_COUNT=1) REMOTE_ADDR is the proxy's; the visitor is
the address the proxy appended last to X-Forwarded-For. Entries further left were written by
the client and are never trusted. The same setting drives allauth's rate limits
(ALLAUTH_TRUSTED_PROXY_COUNT), so the access log and the sign-in limits agree on who is who.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    hops = settings.ALLAUTH_TRUSTED_PROXY_COUNT
    address = request.META.get("REMOTE_ADDR") or None
    if hops:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        address = forwarded[-hops] if len(forwarded) >= hops else None
    if address is None:
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None
