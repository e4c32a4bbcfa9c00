"""Every read of health data leaves a line in the access log, and so does every refusal."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from booking.models import CalendarFeed
from portal.models import AccessLog
from tests import factories
from tests.booking.factories import make_appointment, make_practitioner, make_service

pytestmark = pytest.mark.django_db


def last_line() -> AccessLog:
    return AccessLog.objects.order_by("-pk").first()


def lines(**fields) -> list[tuple]:
    return list(
        AccessLog.objects.filter(**fields)
        .order_by("pk")
        .values_list("user_id", "action", "object_type", "object_id")
    )


@pytest.fixture
def filou(client_user):
    return factories.make_patient(client_user, name="Filou")


@pytest.fixture
def dubois(site, vet):
    return make_practitioner(site, name="Dr Dubois", user=vet)


@pytest.fixture
def appointment(client_user, filou, site, dubois):
    service = make_service(site, [dubois], slug="consultation", duration=30)
    starts = timezone.now() + timedelta(days=3)
    return make_appointment(
        client=client_user.client,
        patient=filou,
        service=service,
        practitioner=dubois,
        starts_at=starts,
    )


# --- patient photos and the staff edit form ------------------------------------------------------


@pytest.fixture
def with_photo(as_manager, filou, settings, tmp_path):
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    image = io.BytesIO()
    Image.new("RGB", (8, 8), "orange").save(image, format="PNG")
    response = as_manager.post(
        reverse("records:patient_edit", args=[filou.pk]),
        {
            "name": "Filou",
            "species": "dog",
            "sex": "m",
            "photo": SimpleUploadedFile("filou.png", image.getvalue(), content_type="image/png"),
        },
    )
    assert response.status_code == 302
    filou.refresh_from_db()
    assert filou.photo
    return filou


def test_a_photo_read_is_logged_for_the_owner_and_for_staff(
    with_photo, as_client, client_user, as_vet, vet
):
    url = reverse("records:patient_photo", args=[with_photo.pk])
    before = AccessLog.objects.count()
    assert as_client.get(url).status_code == 200
    assert as_vet.get(url).status_code == 200
    assert lines(pk__gt=0)[before:] == [
        (client_user.pk, "view", "patient_photo", str(with_photo.pk)),
        (vet.pk, "view", "patient_photo", str(with_photo.pk)),
    ]


def test_a_strangers_photo_request_is_refused_and_logged(
    with_photo, as_other_client, other_client_user
):
    url = reverse("records:patient_photo", args=[with_photo.pk])
    response = as_other_client.get(url)
    assert response.status_code == 404
    assert b"Filou" not in response.content
    assert lines(user=other_client_user) == [
        (other_client_user.pk, "denied", "patient_photo", str(with_photo.pk))
    ]


def test_opening_the_staff_edit_form_is_logged(as_reception, reception, filou):
    response = as_reception.get(reverse("records:patient_edit", args=[filou.pk]))
    assert response.status_code == 200
    assert "Filou" in response.content.decode()
    line = last_line()
    assert (line.user, line.action, line.object_type, line.object_id, line.detail) == (
        reception,
        "view",
        "patient",
        str(filou.pk),
        "edit",
    )


@pytest.mark.parametrize(
    "name", ["records:staff_patient", "records:patient_edit", "records:add_vaccination"]
)
def test_a_client_on_a_staff_record_page_is_refused_and_logged(name, as_client, client_user, filou):
    url = reverse(name, args=[filou.pk])
    response = as_client.get(url)
    assert response.status_code == 403
    assert "Filou" not in response.content.decode()
    line = last_line()
    assert (line.user, line.action, line.object_type, line.object_id, line.detail) == (
        client_user,
        "denied",
        "page",
        name,
        url,
    )


def test_a_client_on_the_staff_search_is_refused_and_logged(as_client, client_user):
    assert as_client.get(reverse("records:search")).status_code == 403
    assert lines(user=client_user) == [(client_user.pk, "denied", "page", "records:search")]


def test_a_page_within_the_role_writes_no_refusal(as_vet, vet, filou):
    assert as_vet.get(reverse("records:staff_patient", args=[filou.pk])).status_code == 200
    assert not AccessLog.objects.filter(user=vet, action="denied").exists()


# --- appointments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["booking:detail", "booking:ics", "booking:cancel", "booking:move"]
)
def test_a_strangers_try_at_an_appointment_is_refused_and_logged(
    name, appointment, as_other_client, other_client_user
):
    response = as_other_client.get(reverse(name, args=[appointment.pk]))
    assert response.status_code == 404
    assert "Filou" not in response.content.decode()
    assert lines(user=other_client_user) == [
        (other_client_user.pk, "denied", "appointment", str(appointment.pk))
    ]


def test_a_strangers_post_to_cancel_is_refused_logged_and_changes_nothing(
    appointment, as_other_client, other_client_user
):
    url = reverse("booking:cancel", args=[appointment.pk])
    assert as_other_client.post(url, {"reason": "x"}).status_code == 404
    appointment.refresh_from_db()
    assert appointment.cancelled_at is None
    assert lines(user=other_client_user, action="denied") == [
        (other_client_user.pk, "denied", "appointment", str(appointment.pk))
    ]


def test_the_owner_reading_their_appointment_writes_no_refusal(appointment, as_client, client_user):
    assert as_client.get(reverse("booking:detail", args=[appointment.pk])).status_code == 200
    assert not AccessLog.objects.filter(user=client_user, action="denied").exists()


# --- calendar feeds -------------------------------------------------------------------------------


def test_a_feed_read_is_logged_in_the_practitioners_name(client, appointment, dubois, vet):
    feed, token = CalendarFeed.issue(dubois)
    response = client.get(reverse("booking:feed", args=[token]))
    assert response.status_code == 200
    line = last_line()
    assert (line.user, line.action, line.object_type, line.object_id) == (
        vet,
        "view",
        "calendar_feed",
        str(feed.pk),
    )
    assert token not in line.detail


def test_a_revoked_or_unknown_feed_is_a_refusal_without_a_user(client, dubois, vet):
    _feed, token = CalendarFeed.issue(dubois)
    CalendarFeed.issue(dubois)  # a new address revokes the old one
    for tried in (token, "not-a-token-at-all"):
        assert client.get(reverse("booking:feed", args=[tried])).status_code == 404
    assert lines(object_type="calendar_feed") == [
        (None, "denied", "calendar_feed", ""),
        (None, "denied", "calendar_feed", ""),
    ]
    assert not AccessLog.objects.filter(detail__contains=token).exists()
