"""Who may see which request. A stranger, or a pet-sitter, gets a 404 and the refusal is logged."""

from django.http import Http404, HttpRequest

from orders.models import Order
from portal.access import is_staff, log_access
from portal.models import AccessLog
from records.models import Guardianship, Treatment


def _refuse(request: HttpRequest, object_type: str, pk: object) -> Http404:
    log_access(request, action=AccessLog.Action.DENIED, object_type=object_type, object_id=pk)
    return Http404()


def order_for(request: HttpRequest, pk: int, *, what: str = "order") -> Order:
    """Staff: any request. A client: their own (the one who asked)."""
    orders = Order.objects.with_related()
    if not is_staff(request.user):
        orders = orders.of_user(request.user)
    order = orders.filter(pk=pk).first()
    if order is None:
        raise _refuse(request, what, pk)
    return order


def treatment_for(request: HttpRequest, pk: int) -> Treatment:
    """A treatment of an animal the signed-in client owns or co-owns (a pet-sitter: 404)."""
    treatment = (
        Treatment.objects.select_related("entry__patient")
        .filter(
            entry_id=pk,
            entry__patient__guardianships__client__user=request.user,
            entry__patient__guardianships__role__in=[
                Guardianship.Role.OWNER,
                Guardianship.Role.CO_OWNER,
            ],
        )
        .first()
    )
    if treatment is None:
        raise _refuse(request, "treatment", pk)
    return treatment
