"""The HTTP benchmark's URLs: the portal's, the authenticated floor, and an unauthenticated one.

Served only by the benchmark's servers (bench/http_settings.py), never by the product.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_GET

from bench.floor_urls import urlpatterns as floor_urlpatterns

PUBLIC_PATH = "/bench/hello/"


@login_not_required  # the benchmark's public floor: no credential, by design (never in the product)
@require_GET
def hello(request: HttpRequest) -> HttpResponse:
    """A trivial page without a session: what the server and the middleware cost by themselves."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path(PUBLIC_PATH.lstrip("/"), hello, name="bench_hello"), *floor_urlpatterns]
