from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from portal.dashboard import collect_nav_links
from portal.models import Clinic


def clinic(request: HttpRequest) -> dict[str, object]:
    """The clinic on every page: its name and phone are in the header, as the product promises.

    The menu's links come from the apps (lazily: a partial that never shows the menu never
    builds it).
    """
    user = getattr(request, "user", None)
    return {
        "clinic": getattr(request, "clinic", None) or Clinic.current(),
        "nav_links": SimpleLazyObject(
            lambda: collect_nav_links(user) if user is not None and user.is_authenticated else []
        ),
    }
