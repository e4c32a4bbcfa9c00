from django import template
from django.utils.translation import gettext as _

from portal.models import Client
from privacy.services import is_erased

register = template.Library()


@register.filter
def client_name(client: Client) -> str:
    """A client's name; an erased client's placeholder in the reader's language."""
    if is_erased(client):
        return _("Deleted client #%(id)s") % {"id": client.pk}
    return str(client)
