"""Correction requests for the client's own details: the client writes, staff resolve."""

import pytest
from django.urls import reverse

from privacy.models import ProfileCorrection

pytestmark = pytest.mark.django_db


def test_the_client_asks_and_sees_the_status(as_client, client_user):
    response = as_client.post(
        reverse("privacy:correction"), {"message": "My address is now 3 rue des Lilas"}, follow=True
    )

    page = response.content.decode()
    assert "The clinic will correct your details" in page
    assert "My address is now 3 rue des Lilas" in page
    assert "Waiting for the clinic" in page
    assert ProfileCorrection.objects.get().client == client_user.client


def test_an_empty_request_is_refused_with_a_message(as_client):
    response = as_client.post(reverse("privacy:correction"), {"message": "   "})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ProfileCorrection.objects.exists()


def test_staff_resolve_it_with_a_note_the_client_reads(
    as_client, client_user, as_reception, reception
):
    as_client.post(reverse("privacy:correction"), {"message": "Phone: 06 12 34 56 78"})
    correction = ProfileCorrection.objects.get()
    listing = as_reception.get(reverse("privacy:requests")).content.decode()
    assert "Phone: 06 12 34 56 78" in listing
    assert reverse("portal:client_detail", args=[client_user.client.pk]) in listing

    as_reception.post(
        reverse("privacy:resolve_correction", args=[correction.pk]), {"note": "Number updated"}
    )
    again = as_reception.post(
        reverse("privacy:resolve_correction", args=[correction.pk]), {"note": "Other"}, follow=True
    )

    assert "already resolved" in again.content.decode()
    correction.refresh_from_db()
    assert correction.resolved_by == reception
    assert correction.note == "Number updated"
    page = as_client.get(reverse("privacy:home")).content.decode()
    assert "Done on" in page
    assert "Number updated" in page


def test_clients_cannot_resolve_and_unknown_ids_are_404(
    as_client, as_other_client, client_user, as_reception
):
    as_client.post(reverse("privacy:correction"), {"message": "Wrong name"})
    correction = ProfileCorrection.objects.get()
    url = reverse("privacy:resolve_correction", args=[correction.pk])

    for http in (as_client, as_other_client):
        assert http.post(url, {"note": "x"}).status_code == 403
    assert "Wrong name" not in as_other_client.get(reverse("privacy:home")).content.decode()
    assert as_reception.post(reverse("privacy:resolve_correction", args=[999])).status_code == 404
    assert ProfileCorrection.objects.get().resolved_at is None


def test_the_requests_page_makes_a_bounded_number_of_queries(
    as_reception, django_assert_max_num_queries
):
    from privacy import services
    from tests import factories

    for index in range(12):
        client = factories.make_client_user(first_name=f"Client{index}").client
        correction = services.request_correction(client=client, message="Wrong phone")
        if index % 2:
            services.resolve_correction(
                correction=correction, by=factories.make_staff("reception"), note="ok"
            )
        if index % 3 == 0:
            services.request_erasure(client=client)
    as_reception.get(reverse("privacy:requests"))  # warm the session and the caches

    with django_assert_max_num_queries(12):
        response = as_reception.get(reverse("privacy:requests"))

    assert response.content.decode().count("Wrong phone") == 6


def test_the_client_page_shows_the_requests_waiting(as_reception, client_user):
    from privacy import services

    services.request_correction(client=client_user.client, message="My phone is 06 12 34 56 78")
    services.request_erasure(client=client_user.client)

    page = as_reception.get(reverse("portal:client_detail", args=[client_user.client.pk]))

    body = page.content.decode()
    assert "Correction asked: My phone is 06 12 34 56 78" in body
    assert "The client asked to close their account." in body
    assert reverse("privacy:requests") in body
