"""The OpenAPI document validates, names every operation and its errors; the docs page lists
them and every problem type (each problem's ``type`` points at an entry there)."""

import pytest
from openapi_spec_validator import validate

from api.problems import problem_kinds
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_the_openapi_document_validates(world):
    response = Api(None).get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert schema["openapi"].startswith("3.1")
    paths = schema["paths"]
    for path in (
        "/api/v1/clinic",
        "/api/v1/services",
        "/api/v1/slots",
        "/api/v1/clients/find",
        "/api/v1/appointments",
        "/api/v1/appointments/{appointment_id}",
        "/api/v1/appointments/{appointment_id}/move",
        "/api/v1/appointments/{appointment_id}/cancel",
        "/api/v1/appointments/{appointment_id}/confirm",
        "/api/v1/messages",
        "/api/v1/waitlist",
    ):
        assert path in paths, path
    booking = paths["/api/v1/appointments"]["post"]
    assert {"201", "401", "403", "404", "409", "422", "429"} <= set(booking["responses"])
    assert booking["security"] == [{"KeyAuth": []}]
    assert schema["components"]["securitySchemes"]["KeyAuth"]["scheme"] == "bearer"


def test_the_docs_page_lists_operations_and_problems(world, client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/v1/slots" in html
    assert "slots:read" in html
    for kind in problem_kinds():
        assert f'id="{kind}"' in html
    assert "<script>" not in html  # the site's CSP: no inline script
