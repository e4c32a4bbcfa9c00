"""Presence rows of killed daphne processes are swept: a killed process runs no disconnects, so
without a sweep its rows stayed for ever (counted as gone after Presence.TTL, never deleted)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from messaging import services
from messaging.models import Presence

NOW = datetime(2026, 6, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _row(name: str, user, conversation, seen_at: datetime) -> Presence:
    return Presence.objects.create(
        channel_name=name, user=user, conversation=conversation, seen_at=seen_at
    )


@pytest.mark.usefixtures("frozen")
def test_a_new_connection_sweeps_the_rows_of_a_killed_process(conversation, client_user, vet):
    _row("specific.killed!a", client_user, conversation, NOW - Presence.TTL - timedelta(seconds=1))
    _row("specific.alive!b", vet, conversation, NOW - timedelta(seconds=30))  # pinged lately

    services.connection_opened(
        channel_name="specific.other!c", user=client_user, conversation_id=conversation.pk
    )

    assert set(Presence.objects.values_list("channel_name", flat=True)) == {
        "specific.alive!b",
        "specific.other!c",
    }


@pytest.mark.usefixtures("frozen")
def test_the_offline_notice_check_sweeps_and_then_sends(conversation, client_user, vet):
    posted = services.post_message(conversation_id=conversation.pk, author=vet, body="Oui")
    _row("specific.killed!a", client_user, conversation, NOW - timedelta(minutes=10))

    assert services.message_still_unread(posted.messages[0].pk, 0)  # the dead row is not "here"
    assert not Presence.objects.exists()


def test_a_row_kept_fresh_by_the_heartbeat_survives_the_sweep(conversation, client_user):
    with time_machine.travel(NOW, tick=False) as clock:
        services.connection_opened(
            channel_name="specific.live!a", user=client_user, conversation_id=conversation.pk
        )
        for _ in range(5):  # the page pings every minute, for five minutes
            clock.shift(timedelta(minutes=1))
            services.connection_seen(channel_name="specific.live!a")
            assert services.sweep_presence() == 0
        clock.shift(Presence.TTL + timedelta(seconds=1))  # the page (or its process) is gone
        assert services.sweep_presence() == 1
