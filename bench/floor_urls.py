"""The portal's URLs plus the benchmark's floor view (bench/floor_settings.py)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_GET

from portal.urls import urlpatterns as portal_urlpatterns

FLOOR_PATH = "/bench/ok/"


@login_required
@require_GET
def floor(request: HttpRequest) -> HttpResponse:
    """A trivial authenticated page: the floor the benchmark compares the slot pages with."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path(FLOOR_PATH.lstrip("/"), floor, name="bench_floor"), *portal_urlpatterns]
