"""One-time codes (notifications.codes): expiry, wrong tries, the lock, resend back-off, the
hash kept instead of the code, and the text message that carries it."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import TestCase

from notifications import codes, services
from notifications.models import (
    Kind,
    Notification,
    Preference,
    PreferenceChange,
    Status,
    VerificationCode,
)
from tests.notifications.factories import with_phone

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 Paris
SUNDAY_NIGHT = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)  # Sunday 23:30 Paris: quiet hours


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def camille(client_user):
    return with_phone(client_user.client, "+33612345678", verified=False)


def send(client, **fields):
    """Ask for a code and run the commit hooks (the dispatch's enqueue), as a commit would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return codes.send_code(
            client=client,
            purpose=fields.get("purpose", "phone"),
            channel=fields.get("channel", "sms"),
            target=fields.get("target", client.phone),
        )


def sent_code(run_tasks, sms_outbox) -> str:
    run_tasks()
    return re.search(r"\b(\d{6})\b", sms_outbox[-1].body).group(1)


def test_it_texts_six_digits_to_the_number_even_unchecked(clock, camille, run_tasks, sms_outbox):
    result = send(camille)
    run_tasks()
    assert len(sms_outbox) == 1
    message = sms_outbox[0]
    assert message.to == "+33612345678"
    assert re.fullmatch(
        r"Tests: your code is \d{6}\. It expires in 10 minutes\. Never give it to anyone\.",
        message.body,
    )
    assert result.expires_at == NOW + timedelta(minutes=10)
    row = Notification.objects.get(pk=result.notification_id)
    assert (row.kind, row.urgent, row.status) == (Kind.VERIFICATION_CODE, True, Status.SENT)


def test_it_stores_a_hash_never_the_code(clock, camille, run_tasks, sms_outbox):
    send(camille)
    code = sent_code(run_tasks, sms_outbox)
    row = VerificationCode.objects.get(client=camille)
    assert code not in row.code_hash
    assert len(row.code_hash) == 64
    # The outbox row is masked once sent: the team reads the outbox.
    assert code not in Notification.objects.get(kind=Kind.VERIFICATION_CODE).body


def test_the_code_goes_during_quiet_hours(camille, run_tasks, sms_outbox):
    with time_machine.travel(SUNDAY_NIGHT, tick=False):
        send(camille)
        run_tasks()
    assert len(sms_outbox) == 1


def test_a_client_who_turned_notices_off_still_gets_the_code(clock, camille, run_tasks, sms_outbox):
    Preference.objects.filter(client=camille).update(service_opt_out=True)
    send(camille)
    run_tasks()
    assert len(sms_outbox) == 1


def test_it_sends_by_email_too(clock, camille, run_tasks, mail_outbox):
    send(camille, channel="email", target="Camille@Example.com", purpose="link-record")
    run_tasks()
    assert mail_outbox[0].to == ["camille@example.com"]
    found = re.search(r"Your code is (\d{6})\. It expires in 10 minutes\.", mail_outbox[0].body)
    row = Notification.objects.get(kind=Kind.VERIFICATION_CODE)
    assert "Your code is ••••••." in row.body
    assert found.group(1) not in row.html


def test_the_right_code_checks_once(clock, camille, run_tasks, sms_outbox):
    send(camille)
    code = sent_code(run_tasks, sms_outbox)
    result = codes.check_code(client=camille, purpose="phone", code=code)
    assert (result.ok, result.target) == (True, "+33612345678")
    again = codes.check_code(client=camille, purpose="phone", code=code)
    assert (again.ok, again.reason) == (False, "no_code")


def test_a_code_expires_after_ten_minutes(clock, camille, run_tasks, sms_outbox):
    send(camille)
    code = sent_code(run_tasks, sms_outbox)
    clock.shift(timedelta(minutes=10))
    result = codes.check_code(client=camille, purpose="phone", code=code)
    assert (result.ok, result.reason) == (False, "expired")
    assert "ask for a new code" in result.message


def test_five_wrong_tries_kill_the_code(clock, camille, run_tasks, sms_outbox):
    send(camille)
    code = sent_code(run_tasks, sms_outbox)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        result = codes.check_code(client=camille, purpose="phone", code=wrong)
        assert (result.reason, result.tries_left) == ("wrong", left)
    result = codes.check_code(client=camille, purpose="phone", code=wrong)
    assert result.reason == "too_many_tries"
    assert result.message == "Too many tries: ask for a new code."
    # Even the right code is refused now.
    assert codes.check_code(client=camille, purpose="phone", code=code).reason == "too_many_tries"


def test_ten_typed_codes_in_an_hour_lock_for_an_hour(clock, camille, run_tasks, sms_outbox):
    for _round in range(2):
        send(camille)
        run_tasks()
        for _try in range(5):
            codes.check_code(client=camille, purpose="phone", code="000000")
            clock.shift(timedelta(seconds=10))
        clock.shift(timedelta(minutes=5))
    row = VerificationCode.objects.get(client=camille)
    assert row.locked_until is not None
    with pytest.raises(codes.Locked):
        send(camille)
    result = codes.check_code(client=camille, purpose="phone", code="123456")
    assert result.reason == "locked"
    clock.move_to(row.locked_until)
    send(camille)  # the hour is over


def test_resend_backs_off_30s_60s_2min_5min_and_five_an_hour(clock, camille, run_tasks):
    send(camille)
    for wait in (30, 60, 120, 300):
        with pytest.raises(codes.TooSoon) as too_soon:
            send(camille)
        assert too_soon.value.wait_seconds == wait
        clock.shift(timedelta(seconds=wait - 1))
        with pytest.raises(codes.TooSoon):
            send(camille)
        clock.shift(timedelta(seconds=1))
        send(camille)
    # Five sends within 8.5 minutes: the sixth waits for the first to be an hour old.
    clock.shift(timedelta(minutes=5))
    with pytest.raises(codes.TooSoon) as too_soon:
        send(camille)
    assert too_soon.value.wait_seconds == 3600 - (30 + 60 + 120 + 300 + 300)
    state = codes.resend_state(client=camille, purpose="phone")
    assert state.wait_seconds == too_soon.value.wait_seconds


def test_a_new_code_replaces_the_previous_one(clock, camille, run_tasks, sms_outbox):
    send(camille)
    first = sent_code(run_tasks, sms_outbox)
    clock.shift(timedelta(seconds=30))
    send(camille)
    second = sent_code(run_tasks, sms_outbox)
    if first != second:
        assert codes.check_code(client=camille, purpose="phone", code=first).reason == "wrong"
    assert codes.check_code(client=camille, purpose="phone", code=second).ok


def test_a_landline_or_no_number_gets_no_code(clock, camille):
    with pytest.raises(codes.BadTarget, match="Not a mobile number"):
        send(camille, target="+33478000000")
    with pytest.raises(codes.BadTarget, match="No mobile number"):
        send(camille, target="")
    assert not Notification.objects.exists()


def test_a_code_for_one_client_does_not_check_another(
    clock, camille, other_client_user, run_tasks, sms_outbox
):
    stranger = with_phone(other_client_user.client, "+33698765432", verified=False)
    send(camille)
    code = sent_code(run_tasks, sms_outbox)
    assert codes.check_code(client=stranger, purpose="phone", code=code).reason == "no_code"
    assert codes.check_code(client=camille, purpose="link-record", code=code).reason == "no_code"


def test_the_phone_code_ticks_the_number_in_the_consent_journal(
    clock, camille, client_user, run_tasks, sms_outbox
):
    with TestCase.captureOnCommitCallbacks(execute=True):
        codes.send_phone_code(client=camille)
    code = sent_code(run_tasks, sms_outbox)
    result = codes.check_phone_code(client=camille, code=code, by=client_user)
    assert result.ok
    preference = Preference.objects.get(client=camille)
    assert (preference.phone_verified, preference.verified_phone) == (True, "+33612345678")
    change = PreferenceChange.objects.get(client=camille, what="phone_verified")
    assert (change.old_value, change.new_value, change.how) == ("no", "yes", "client_page")
    assert change.by == client_user


def test_a_number_changed_after_the_code_is_not_ticked(
    clock, camille, client_user, run_tasks, sms_outbox
):
    with TestCase.captureOnCommitCallbacks(execute=True):
        codes.send_phone_code(client=camille)
    code = sent_code(run_tasks, sms_outbox)
    camille.phone = "+33698765432"
    camille.save(update_fields=["phone"])
    result = codes.check_phone_code(client=camille, code=code, by=client_user)
    assert (result.ok, result.reason) == (False, "changed")
    assert not Preference.objects.get(client=camille).phone_verified


def test_a_staff_resend_of_a_code_is_refused(clock, camille, run_tasks, as_reception):
    from django.urls import reverse

    send(camille)
    run_tasks()
    row = Notification.objects.get(kind=Kind.VERIFICATION_CODE)
    response = as_reception.post(reverse("notifications:resend", args=[row.pk]))
    assert response.status_code == 302
    assert Notification.objects.filter(kind=Kind.VERIFICATION_CODE).count() == 1


def test_the_code_text_reads_in_french(clock, camille, run_tasks, sms_outbox):
    camille.preferred_language = "fr"
    camille.save(update_fields=["preferred_language"])
    send(camille)
    run_tasks()
    assert re.fullmatch(
        r"Tests : votre code est \d{6}\. Il expire dans 10 minutes\. "
        r"Ne le donnez jamais à personne\.",
        sms_outbox[0].body,
    ), sms_outbox[0].body


# --- Texts only to checked numbers ---------------------------------------------------------------


def test_a_text_to_an_unchecked_number_is_not_sent(clock, camille, run_tasks, sms_outbox):
    Preference.objects.filter(client=camille).update(channels={"documents": ["email", "sms"]})
    services.document_available(client_ids=[camille.pk], document_id=8)
    row = Notification.objects.get(channel="sms", subject_id=8)
    assert (row.status, row.reason) == (Status.SUPPRESSED, "Mobile number not checked yet.")


def test_a_changed_number_loses_its_tick(clock, camille, run_tasks, sms_outbox):
    services.change_preferences(client=camille, by=None, how="staff", phone_verified=True)
    assert services.phone_checked(camille)
    camille.phone = "+33698765432"
    camille.save(update_fields=["phone"])
    assert not services.phone_checked(camille)
    assert services.phone_changed(camille) is True
    change = PreferenceChange.objects.filter(client=camille, what="phone_verified").first()
    assert (change.old_value, change.new_value, change.how) == ("yes", "no", "system")
    assert services.phone_changed(camille) is False


def test_a_text_planned_before_the_number_changed_is_not_sent_to_the_old_one(
    clock, camille, run_tasks, sms_outbox
):
    services.change_preferences(client=camille, by=None, how="staff", phone_verified=True)
    Preference.objects.filter(client=camille).update(channels={"documents": ["sms"]})
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.document_available(client_ids=[camille.pk], document_id=9)
    camille.phone = "+33698765432"
    camille.save(update_fields=["phone"])
    clock.shift(services.MERGE_WINDOW)
    run_tasks()
    assert sms_outbox == []
    row = Notification.objects.get(subject_id=9)
    assert (row.status, row.reason) == (Status.SUPPRESSED, "Mobile number not checked yet.")


def test_staff_cannot_tick_a_client_without_a_mobile_number(clock, client_user):
    client = client_user.client
    services.change_preferences(client=client, by=None, how="staff", phone_verified=True)
    assert not Preference.objects.get(client=client).phone_verified
