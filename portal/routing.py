from portal.lib.app_hooks import gather


def websocket_urlpatterns() -> list:
    """Websocket routes contributed by apps (AppConfig.websocket_urlpatterns), in app order."""
    return gather("websocket_urlpatterns")
