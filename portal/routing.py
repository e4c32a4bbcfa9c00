from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import re_path

from portal.lib.app_hooks import gather

# Like HTTP's 404: the path names no socket (an unknown route, or an id out of range).
CLOSE_NOT_FOUND = 4404


class NoSuchSocket(AsyncWebsocketConsumer):
    """Refuses the handshake, where channels' router would raise ValueError (a logged error and
    a dropped connection) for a path that matches no route."""

    async def connect(self) -> None:
        await self.close(code=CLOSE_NOT_FOUND)


def websocket_urlpatterns() -> list:
    """Websocket routes contributed by apps (AppConfig.websocket_urlpatterns), in app order, and
    a last one that refuses every other path."""
    return [*gather("websocket_urlpatterns"), re_path(r"", NoSuchSocket.as_asgi())]
