"""The scaled profile: PostgreSQL and Redis (run by `make test` when they answer)."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache, caches
from django.db import DatabaseError, connection, transaction

from portal.models import AccessLog


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_refuses_to_rewrite_the_access_log(client_user):
    assert connection.vendor == "postgresql"
    AccessLog.objects.create(user=client_user, action="view", object_type="x", object_id="1")

    for statement in ("UPDATE portal_accesslog SET detail='x'", "DELETE FROM portal_accesslog"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)

    assert AccessLog.objects.count() == 1


@pytest.mark.redis
def test_the_cache_is_redis_and_shared():
    from django.core.cache.backends.redis import RedisCache

    assert isinstance(caches["default"], RedisCache)
    cache.set("accueil-probe", {"ok": 1}, 30)
    assert cache.get("accueil-probe") == {"ok": 1}


@pytest.mark.redis
def test_the_channel_layer_carries_a_message_through_redis():
    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisChannelLayer"

    async def round_trip() -> dict:
        channel = await layer.new_channel()
        await layer.group_add("probe", channel)
        await layer.group_send("probe", {"type": "probe.message", "n": 7})
        received = await layer.receive(channel)
        await layer.group_discard("probe", channel)
        return received

    assert async_to_sync(round_trip)() == {"type": "probe.message", "n": 7}
