"""The benchmark's floor view is not part of the product (issue #18)."""

import pytest
from django.urls import Resolver404, resolve


def test_the_product_has_no_benchmark_url(as_client):
    with pytest.raises(Resolver404):
        resolve("/booking/bench/ok/")
    assert as_client.get("/booking/bench/ok/").status_code == 404


def test_the_benchmark_server_adds_its_floor_to_the_portals_urls():
    from bench import floor_urls

    assert resolve("/bench/ok/", urlconf="bench.floor_urls").func is floor_urls.floor
    assert resolve("/booking/new/", urlconf="bench.floor_urls").url_name == "new"
