"""Fetch the client's privacy objects: a stranger gets a 404, and the refusal is logged."""

from django.http import Http404, HttpRequest

from portal.access import log_access
from portal.models import AccessLog
from privacy.models import DataExport, ErasureRequest, ProfileCorrection


def export_for(request: HttpRequest, pk: int) -> DataExport:
    """A logged-in client's own export, with its client, in one query."""
    export = (
        DataExport.objects.select_related("client").filter(pk=pk, client__user=request.user).first()
    )
    if export is None:
        log_access(request, action=AccessLog.Action.DENIED, object_type="data_export", object_id=pk)
        raise Http404
    return export


def correction_for_staff(pk: int) -> ProfileCorrection:
    correction = ProfileCorrection.objects.select_related("client").filter(pk=pk).first()
    if correction is None:
        raise Http404
    return correction


def erasure_for_staff(pk: int) -> ErasureRequest:
    erasure = ErasureRequest.objects.select_related("client").filter(pk=pk).first()
    if erasure is None:
        raise Http404
    return erasure
