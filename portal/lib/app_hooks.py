"""What the apps contribute to portal, asked through the app registry.

portal imports none of the other apps (the arrows point one way). An app offers a contribution
by defining a method on its AppConfig: `dashboard_panels`, `client_panels`, `nav_links`,
`websocket_urlpatterns`. `gather` calls that method on every app that has it, in
INSTALLED_APPS order, and joins what they return.
"""

from django.apps import apps


def gather(hook: str, *args: object, **kwargs: object) -> list:
    items: list = []
    for config in apps.get_app_configs():
        contribute = getattr(config, hook, None)
        if contribute is not None:
            items.extend(contribute(*args, **kwargs))
    return items
