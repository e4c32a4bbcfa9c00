import re

import pytest
from django.core.cache import cache
from django.test import override_settings

from portal.models import Clinic
from tests import factories


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client, clinic):
    response = client.get("/account/2fa/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.django_db
def test_anonymous_visitors_see_the_clinics_public_page_at_the_root(client, clinic):
    response = client.get("/")

    assert response.status_code == 200
    assert clinic.name in response.content.decode()
    assert 'href="/accounts/login/"' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/staff/clients/", "/staff/clients/new/", "/staff/team/", "/staff/clinic/"]
)
def test_a_client_on_a_staff_page_gets_the_403_page(as_client, path):
    response = as_client.get(path)

    assert response.status_code == 403
    assert "This page is not for your account" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/staff/team/", "/staff/clinic/"])
def test_reception_and_vets_cannot_reach_manager_pages(as_reception, as_vet, path):
    assert as_reception.get(path).status_code == 403
    assert as_vet.get(path).status_code == 403


@pytest.mark.django_db
def test_unknown_pages_get_the_friendly_404_with_the_clinic_phone(client, clinic):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body
    assert 'href="tel:+33478000000"' in body


@pytest.mark.django_db
def test_a_server_error_shows_the_500_page_with_the_clinic_phone(clinic):
    http = factories.http_client()
    http.raise_request_exception = False
    with override_settings(ROOT_URLCONF="tests.portal.failing_urls"):
        response = http.get("/boom/")

    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert "04 78 00 00 00" in body


@pytest.mark.django_db
def test_a_forged_post_without_csrf_is_refused(clinic, client_user):
    http = factories.http_client()
    http.handler.enforce_csrf_checks = True
    http.force_login(client_user)

    response = http.post("/account/profile/", {"first_name": "Forged", "last_name": "X"})

    assert response.status_code == 403
    client_user.client.refresh_from_db()
    assert client_user.client.first_name == "Camille"


@pytest.mark.django_db
def test_every_page_carries_the_csp_and_no_inline_script(as_client, as_manager):
    pages = [(as_client, "/"), (as_client, "/account/2fa/"), (as_manager, "/staff/clients/")]
    pages += [(as_manager, "/staff/team/"), (as_manager, "/staff/clinic/"), (as_manager, "/")]
    for http, path in pages:
        response = http.get(path)
        assert response.status_code == 200, path
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        body = response.content.decode()
        # Every <script> has a src and no body; no inline event handlers or style attributes.
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), path
        assert not re.search(r"\son[a-z]+=\"", body), path
        assert not re.search(r"\sstyle=\"", body), path


@pytest.mark.django_db
def test_the_clinic_phone_is_in_the_header_of_every_page(client, as_client, as_reception):
    for http, path in [(client, "/accounts/login/"), (as_client, "/"), (as_reception, "/")]:
        body = http.get(path).content.decode()
        assert 'href="tel:+33478000000"' in body, path
        assert 'href="tel:+33478000099"' in body, path


@pytest.mark.django_db
def test_a_manager_edits_the_clinic_and_the_header_follows(as_manager, clinic):
    response = as_manager.post(
        "/staff/clinic/",
        {
            "name": "Clinique du Parc",
            "address": "1 rue du Parc",
            "phone": "04 72 11 22 33",
            "emergency_phone": "",
            "email": "parc@example.com",
            "time_zone": "Europe/Paris",
            "sms_sender": "Parc",
        },
    )

    assert response.status_code == 302
    assert Clinic.current().name == "Clinique du Parc"
    assert "Clinique du Parc" in as_manager.get("/").content.decode()
    assert Clinic.current().phone == "+33472112233"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("time_zone", "Mars/Olympus", "Use a time zone name such as Europe/Paris."),
        ("phone", "not a phone", "Enter a valid phone number"),
        ("sms_sender", "Parc-Vet!", "Use only letters, digits and spaces."),
        ("sms_sender", "Clinique du Parc", "at most 11 characters"),
        ("name", "", "This field is required."),
    ],
)
def test_bad_clinic_settings_are_explained_and_nothing_changes(
    as_manager, clinic, field, value, message
):
    data = {
        "name": "Clinique du Parc",
        "phone": "04 72 11 22 33",
        "time_zone": "Europe/Paris",
        "sms_sender": "Parc",
    } | {field: value}

    response = as_manager.post("/staff/clinic/", data)

    assert response.status_code == 200
    assert message in response.content.decode()
    cache.clear()
    assert Clinic.current().name == "Clinique des Tests"


@pytest.mark.django_db
def test_dates_are_shown_in_the_clinic_time_zone(as_manager, clinic):
    clinic.time_zone = "America/Montreal"
    clinic.save()

    response = as_manager.get("/")

    assert response.context["TIME_ZONE"] == "America/Montreal"


@pytest.mark.django_db
def test_a_request_for_an_unknown_host_gets_the_400_page(clinic):
    response = factories.http_client().get("/", headers={"host": "evil.example"})

    assert response.status_code == 400
    assert "This request could not be understood" in response.content.decode()
