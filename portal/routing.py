from django.apps import apps


def websocket_urlpatterns() -> list:
    """Websocket routes contributed by apps (AppConfig.websocket_urlpatterns), in app order."""
    patterns: list = []
    for config in apps.get_app_configs():
        patterns.extend(getattr(config, "websocket_urlpatterns", lambda: [])())
    return patterns
