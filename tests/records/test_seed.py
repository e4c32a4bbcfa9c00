import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from portal.demo import Demo
from portal.models import Client
from records.models import CareDue, HistoryEntry, Report, Weight
from tests import factories


def seed_portal_and_records() -> None:
    """What `seed_demo` runs, for the two apps records needs (other apps seed apart)."""
    demo = Demo()
    for label in ("portal", "records"):
        apps.get_app_config(label).seed_demo(demo)


@pytest.mark.django_db
def test_it_seeds_history_care_weights_and_one_report_once(settings, tmp_path, notify):
    settings.MEDIA_ROOT = tmp_path
    seed_portal_and_records()
    counts = (
        HistoryEntry.objects.count(),
        CareDue.objects.count(),
        Weight.objects.count(),
        Report.objects.count(),
    )
    seed_portal_and_records()
    assert counts == (
        HistoryEntry.objects.count(),
        CareDue.objects.count(),
        Weight.objects.count(),
        Report.objects.count(),
    )
    assert counts[0] > 10
    report = Report.objects.get()
    assert report.is_published
    today = timezone.localdate()
    soon = CareDue.objects.pending().filter(due_date__lte=today + timezone.timedelta(days=21))
    assert {care.kind for care in soon} >= {"vaccination", "antiparasitic", "renewal"}
    # The first demo client can open the report.
    first = Client.objects.order_by("pk").first()
    http = factories.http_client(first.user)
    response = http.get(reverse("records:report_download", args=[report.pk]))
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
