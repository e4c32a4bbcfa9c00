from django.http import HttpRequest

from portal.models import Clinic


def clinic(request: HttpRequest) -> dict[str, object]:
    """The clinic on every page: its name and phone are in the header, as the product promises."""
    return {"clinic": getattr(request, "clinic", None) or Clinic.current()}
