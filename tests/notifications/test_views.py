"""Pages: preferences and their journal, unsubscribe links, staff outbox, history, templates."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from notifications import services
from notifications.models import (
    Campaign,
    Channel,
    Kind,
    MessageTemplate,
    Notification,
    Preference,
    PreferenceChange,
    Purpose,
    Status,
)
from portal.lib.links import make_token
from tests import factories
from tests.notifications.factories import make_notice, with_phone

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 Paris


@pytest.fixture(autouse=True)
def _tuesday_morning():
    """Rows are stamped "now", tokens expire and the SMS count is per month: a fixed weekday
    morning, so no page depends on the hour or the day the suite runs."""
    with time_machine.travel(NOW, tick=False):
        yield


def make_row(client, **fields) -> Notification:
    defaults = {
        "recipient": client.email,
        "channel": Channel.EMAIL,
        "kind": Kind.APPOINTMENT_REMINDER,
        "body": "Hello",
        "scheduled_at": timezone.now(),
        "idempotency_key": f"test:{Notification.objects.count()}:{client.pk}",
    }
    defaults.update(fields)
    return Notification.objects.create(client=client, **defaults)


# --- Preferences ---------------------------------------------------------------------------------


def test_it_shows_marketing_unticked_by_default(as_client):
    response = as_client.get(reverse("notifications:preferences"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="marketing_opt_in"' in html
    field = html.split('name="marketing_opt_in"')[0].rsplit("<input", 1)[1]
    assert "checked" not in field


def test_it_saves_choices_and_journals_who_when_how_what(as_client, client_user):
    response = as_client.post(
        reverse("notifications:preferences"),
        {"appointments_email": "on", "care_email": "on", "marketing_opt_in": "on"},
    )
    assert response.status_code == 302
    preference = Preference.objects.get(client=client_user.client)
    assert preference.marketing_opt_in is True
    assert preference.channels_for("appointments") == ["email"]
    assert preference.channels_for("documents") == []
    journal = PreferenceChange.objects.filter(client=client_user.client)
    whats = set(journal.values_list("what", flat=True))
    assert {"marketing_opt_in", "channels:appointments", "channels:documents"} <= whats
    entry = journal.get(what="marketing_opt_in")
    assert entry.by == client_user
    assert entry.how == PreferenceChange.How.CLIENT_PAGE
    assert (entry.old_value, entry.new_value) == ("no", "yes")
    page = as_client.get(reverse("notifications:preferences")).content.decode()
    assert "News and campaigns" in page


def test_it_keeps_the_journal_append_only(client_user):
    services.change_preferences(
        client=client_user.client, by=client_user, how="client_page", marketing_opt_in=True
    )
    entry = PreferenceChange.objects.get()
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        PreferenceChange.objects.all().delete()
    with pytest.raises(PermissionError):
        PreferenceChange.objects.update(new_value="no")


def test_it_refuses_preferences_to_staff_and_strangers(as_reception, client):
    assert as_reception.get(reverse("notifications:preferences")).status_code == 403
    response = client.get(reverse("notifications:preferences"))
    assert response.status_code == 302


# --- Unsubscribe ---------------------------------------------------------------------------------


@pytest.fixture
def opted_in(client_user):
    services.change_preferences(
        client=client_user.client, by=client_user, how="client_page", marketing_opt_in=True
    )
    return client_user.client


def test_it_unsubscribes_in_one_click_without_login(client, opted_in):
    url = services.unsubscribe_url(opted_in)
    path = url.split("testserver", 1)[-1].split("127.0.0.1:8000", 1)[-1]
    assert client.get(path).status_code == 200
    assert Preference.objects.get(client=opted_in).marketing_opt_in is True  # GET changes nothing
    response = client.post(path)
    assert b"you will no longer receive" in response.content
    assert Preference.objects.get(client=opted_in).marketing_opt_in is False
    entry = PreferenceChange.objects.filter(client=opted_in).first()
    assert entry.how == PreferenceChange.How.UNSUBSCRIBE_LINK
    assert entry.by is None


def test_it_changes_nothing_when_the_link_is_used_again(client, opted_in):
    path = reverse("notifications:unsubscribe", args=[_token(opted_in)])
    client.post(path)
    count = PreferenceChange.objects.count()
    response = client.post(path)
    assert b"already unsubscribed" in response.content
    assert PreferenceChange.objects.count() == count


def test_it_refuses_a_forged_unsubscribe_link(client, opted_in):
    token = _token(opted_in)
    response = client.post(reverse("notifications:unsubscribe", args=[token[:-2] + "xx"]))
    assert response.status_code == 400
    assert b"not valid" in response.content
    assert Preference.objects.get(client=opted_in).marketing_opt_in is True


def test_it_refuses_a_link_made_for_another_purpose(client, opted_in):
    token = make_token("booking.confirm", {"c": opted_in.pk}, expires_at=NOW + timedelta(days=400))
    response = client.post(reverse("notifications:unsubscribe", args=[token]))
    assert response.status_code == 400
    assert Preference.objects.get(client=opted_in).marketing_opt_in is True


def test_it_explains_an_expired_unsubscribe_link(client, opted_in):
    with time_machine.travel(timezone.now() - timedelta(days=365)):
        token = _token(opted_in)
    response = client.post(reverse("notifications:unsubscribe", args=[token]))
    assert response.status_code == 410
    assert b"expired" in response.content
    assert b"preferences" in response.content
    assert Preference.objects.get(client=opted_in).marketing_opt_in is True


def _token(client) -> str:
    return services.unsubscribe_url(client).rstrip("/").rsplit("/", 1)[-1]


# --- Staff outbox --------------------------------------------------------------------------------


def test_it_filters_the_outbox_by_status_channel_kind_and_client(
    as_reception, client_user, other_client_user, django_assert_max_num_queries
):
    camille, bruno = client_user.client, other_client_user.client
    failed = make_row(camille, status=Status.FAILED, reason="provider answered HTTP 503")
    make_row(camille, channel=Channel.SMS, recipient="+33612345678")
    make_row(bruno, kind=Kind.DOCUMENT_AVAILABLE)
    for index in range(30):
        make_row(bruno, idempotency_key=f"bulk:{index}")
    url = reverse("notifications:outbox")
    with django_assert_max_num_queries(10):
        response = as_reception.get(url, {"status": "failed"})
    assert list(response.context["page"].object_list) == [failed]
    assert b"provider answered HTTP 503" in response.content
    assert as_reception.get(url, {"channel": "sms"}).context["page"].paginator.count == 1
    assert (
        as_reception.get(url, {"kind": "document_available"}).context["page"].paginator.count == 1
    )
    found = as_reception.get(url, {"q": "Martin"}).context["page"].paginator.count
    assert found == 2
    partial = as_reception.get(url, {"q": "Martin"}, headers={"HX-Request": "true"})
    assert b"<h1>" not in partial.content


def test_it_refuses_the_outbox_to_clients(as_client, client_user):
    row = make_row(client_user.client)
    assert as_client.get(reverse("notifications:outbox")).status_code == 403
    assert as_client.get(reverse("notifications:detail", args=[row.pk])).status_code == 403
    assert as_client.post(reverse("notifications:resend", args=[row.pk])).status_code == 403
    history = reverse("notifications:client_history", args=[client_user.client.pk])
    assert as_client.get(history).status_code == 403


def test_it_refuses_the_stranger_every_staff_page(as_other_client, client_user):
    row = make_row(client_user.client)
    for url in (
        reverse("notifications:detail", args=[row.pk]),
        reverse("notifications:client_history", args=[client_user.client.pk]),
        reverse("notifications:templates"),
        reverse("notifications:campaigns"),
    ):
        assert as_other_client.get(url).status_code == 403


def test_it_gives_404_for_an_unknown_message_or_client(as_reception):
    assert as_reception.get(reverse("notifications:detail", args=[999999])).status_code == 404
    url = reverse("notifications:client_history", args=[999999])
    assert as_reception.get(url).status_code == 404


def test_it_shows_a_message_history_and_resends_it(
    as_reception, client_user, run_tasks, django_capture_on_commit_callbacks
):
    row = make_row(client_user.client, status=Status.FAILED, reason="e-mail address refused")
    services._event(row, Status.FAILED, "e-mail address refused")
    page = as_reception.get(reverse("notifications:detail", args=[row.pk]))
    assert b"e-mail address refused" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = as_reception.post(reverse("notifications:resend", args=[row.pk]))
    copy = Notification.objects.exclude(pk=row.pk).get()
    assert response.url == reverse("notifications:detail", args=[copy.pk])
    assert copy.idempotency_key == f"resend:1:{row.idempotency_key}"
    run_tasks()
    copy.refresh_from_db()
    assert copy.status == Status.SENT


def test_it_shows_a_clients_history_with_bounded_queries(
    as_reception, client_user, django_assert_max_num_queries
):
    for index in range(20):
        make_row(client_user.client, idempotency_key=f"h:{index}")
    services.change_preferences(
        client=client_user.client, by=client_user, how="client_page", marketing_opt_in=True
    )
    url = reverse("notifications:client_history", args=[client_user.client.pk])
    with django_assert_max_num_queries(12):
        response = as_reception.get(url)
    assert response.status_code == 200
    assert response.content.count(b"status-scheduled") == 20


def test_it_lets_staff_mark_a_phone_checked_and_journals_it(as_reception, reception, client_user):
    with_phone(client_user.client, verified=False)  # a mobile number to check
    url = reverse("notifications:client_phone", args=[client_user.client.pk])
    as_reception.post(url, {"phone_verified": "1"})
    preference = Preference.objects.get(client=client_user.client)
    assert (preference.phone_verified, preference.verified_phone) == (True, "+33612345678")
    entry = PreferenceChange.objects.get(what="phone_verified")
    assert (entry.by, entry.how) == (reception, PreferenceChange.How.STAFF)


# --- Templates -----------------------------------------------------------------------------------


def test_it_lets_a_manager_override_a_template_per_language(as_manager, client_user, plan):
    url = reverse("notifications:template_edit", args=["appointment_confirmed", "email", "en"])
    assert as_manager.get(url).status_code == 200
    response = as_manager.post(
        url, {"subject": "See you {{ date }}", "body": "Dear {{ first_name }}, booked."}
    )
    assert response.status_code == 302
    client = with_phone(client_user.client)
    with time_machine.travel(NOW, tick=False):
        plan(services.appointment_booked, make_notice(client, NOW + timedelta(days=3)))
    row = Notification.objects.get(kind=Kind.APPOINTMENT_CONFIRMED, channel=Channel.EMAIL)
    assert row.subject == "See you Friday 27 November"
    assert row.body == "Dear Camille, booked."


def test_it_refuses_a_broken_template_and_medical_fields_in_texts(as_manager):
    url = reverse("notifications:template_edit", args=["care_reminder", "sms", "fr"])
    response = as_manager.post(url, {"body": "{% if %}"})
    assert response.status_code == 200
    assert MessageTemplate.objects.count() == 0
    response = as_manager.post(url, {"body": "{{ sender }}: {{ patient_name }} is due"})
    assert "no medical detail" in response.content.decode()
    assert MessageTemplate.objects.count() == 0


def test_it_counts_parts_live_and_warns_above_two(as_manager):
    url = reverse("notifications:template_edit", args=["new_message", "sms", "en"])
    short = as_manager.post(url, {"body": "Hi"}, headers={"HX-Request": "true"})
    assert b"1 part" in short.content
    assert b"more than 2 parts" not in short.content
    long = as_manager.post(url, {"body": "x" * 400}, headers={"HX-Request": "true"})
    assert b"3 parts" in long.content
    assert b"more than 2 parts" in long.content
    assert MessageTemplate.objects.count() == 0  # a preview saves nothing


def test_it_keeps_templates_for_managers(as_reception):
    url = reverse("notifications:template_edit", args=["new_message", "sms", "en"])
    assert as_reception.get(url).status_code == 403
    assert as_reception.get(reverse("notifications:templates")).status_code == 403


def test_it_gives_404_for_an_unknown_template_slot(as_manager):
    url = reverse("notifications:template_edit", args=["birthday", "sms", "en"])
    assert as_manager.get(url).status_code == 404


# --- Campaigns -----------------------------------------------------------------------------------


def test_it_sends_a_campaign_only_to_opted_in_clients_with_sender_and_unsubscribe(
    as_manager,
    client_user,
    other_client_user,
    run_tasks,
    mail_outbox,
    django_capture_on_commit_callbacks,
):
    services.change_preferences(
        client=client_user.client, by=client_user, how="client_page", marketing_opt_in=True
    )
    as_manager.post(
        reverse("notifications:campaigns"),
        {"title": "Spring", "subject": "Vaccines", "body": "Time for the spring vaccines."},
    )
    campaign = Campaign.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        as_manager.post(reverse("notifications:campaign_send", args=[campaign.pk]))
        as_manager.post(reverse("notifications:campaign_send", args=[campaign.pk]))  # twice
    run_tasks()
    assert [m.to for m in mail_outbox] == [[client_user.client.email]]
    email = mail_outbox[0]
    assert "Clinique des Tests" in email.subject
    assert "/notifications/unsubscribe/" in email.body
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert Notification.objects.get().purpose == Purpose.MARKETING


def test_it_keeps_campaigns_for_managers(as_reception):
    assert as_reception.get(reverse("notifications:campaigns")).status_code == 403


# --- Dashboard -----------------------------------------------------------------------------------


def test_it_shows_staff_the_months_sms_count_and_cost(as_manager, client_user, settings):
    settings.NOTIFICATIONS_SMS_CENTS_PER_SEGMENT = 5
    make_row(
        client_user.client,
        channel=Channel.SMS,
        status=Status.SENT,
        segments=2,
        sent_at=timezone.now(),
    )
    response = as_manager.get(reverse("portal:home"))
    assert "1 text message sent (2 parts), estimated cost 0.10 €" in response.content.decode()


def test_it_links_clients_to_their_preferences_from_the_dashboard(as_client):
    response = as_client.get(reverse("portal:home"))
    assert reverse("notifications:preferences").encode() in response.content


def test_it_seeds_the_demo_twice_without_doubling(clinic):
    from notifications.seed import seed_notifications
    from portal.demo import Demo

    clients = [
        factories.make_client(email=f"d{i}@example.com", phone="+33612340000") for i in range(6)
    ]
    demo = Demo(facts={"clients": clients})
    seed_notifications(demo)
    count = Notification.objects.count()
    seed_notifications(demo)
    assert Notification.objects.count() == count > 0


def test_the_months_sms_count_agrees_in_number_in_french(as_manager, client_user, settings):
    settings.NOTIFICATIONS_SMS_CENTS_PER_SEGMENT = 5
    make_row(
        client_user.client,
        channel=Channel.SMS,
        status=Status.SENT,
        segments=1,
        sent_at=timezone.now(),
    )
    response = as_manager.get(reverse("portal:home"), headers={"accept-language": "fr"})
    html = response.content.decode()
    assert "Ce mois-ci : 1 SMS envoyé (1 partie), coût estimé 0,05 €." in html
    assert "Appeler la clinique :" in html
