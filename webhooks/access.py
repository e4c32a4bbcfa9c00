"""Endpoints and deliveries are the clinic's own: only the manager reaches them (the views'
decorators), and an id that names nothing here — or a delivery under another endpoint's URL —
is a 404."""

from django.http import Http404

from webhooks.models import Delivery, Endpoint


def endpoint_for_manager(pk: int) -> Endpoint:
    try:
        return Endpoint.objects.get(pk=pk)
    except Endpoint.DoesNotExist:
        raise Http404 from None


def delivery_of(endpoint: Endpoint, pk: int) -> Delivery:
    try:
        return Delivery.objects.get(pk=pk, endpoint=endpoint)
    except Delivery.DoesNotExist:
        raise Http404 from None
