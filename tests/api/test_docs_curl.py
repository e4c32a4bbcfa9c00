"""docs/api.md's curl examples, run as written: every ```sh block, in order, in one bash, with
the real curl and jq against a live server (pytest-django's live_server), then what they printed
and what they wrote is checked."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from booking.models import Appointment
from messaging.models import Conversation
from notifications.models import Channel as NotificationChannel
from notifications.models import Kind, Notification
from tests.api.conftest import make_key

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clearable_access_log"),
    # The walk is the integrator's shell: without curl or jq there is nothing to run it with.
    # Under CI=true (as for chromium) a missing tool fails the run instead of skipping.
    pytest.mark.skipif(
        not (shutil.which("curl") and shutil.which("jq")) and os.environ.get("CI") != "true",
        reason="docs/api.md's examples need curl and jq on the PATH (Debian: apt install curl jq)",
    ),
]


def blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_the_doc_has_the_phone_assistants_walk():
    found = blocks()
    assert len(found) >= 5
    assert all("curl" in block for block in found)


def test_the_curl_examples_run_against_a_live_server(world, live_server):
    _key, token = make_key(world.manager, name="Doc walk")
    script = "set -euo pipefail\n" + "\n".join(blocks())
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "ACCUEIL": live_server.url, "TOKEN": token},
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    out = done.stdout.splitlines()
    assert out[0:4] == ["{", '  "open_now": true,', '  "call_now": "+33478000000"', "}"]
    client = world.client
    assert f'"id":{client.pk},"first_name":"Camille"' in out[4]
    assert out[5] == "next free: 2026-05-29T10:00:00+02:00"
    appointment = Appointment.objects.get()
    assert appointment.client == client
    assert appointment.patient == world.filou
    assert out[6] == (
        f'{{"id":{appointment.pk},"status":"booked","starts_at":"2026-05-29T10:00:00+02:00"}}'
    )
    assert out[7] == f'{{"id":{appointment.pk},"status":"booked"}}'  # the retry: same one
    assert out[8] == '{"status":401,"type":"/api/docs#missing-key"}'
    assert out[9] == '{"status":409,"type":"/api/docs#patient-busy"}'
    assert out[10] == '{"urgent":true,"transfer_to_person":true,"call_now":"+33478000000"}'
    # The confirmation SMS is in the outbox, once, to the caller's number.
    sms = Notification.objects.for_subject("appointment", appointment.pk).filter(
        channel=NotificationChannel.SMS, kind=Kind.APPOINTMENT_CONFIRMED
    )
    assert sms.count() == 1
    assert sms.get().recipient == "+33612345678"
    assert Conversation.objects.get(client=client).urgent
