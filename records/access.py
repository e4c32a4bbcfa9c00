"""Who may read which record. Every object view fetches through these helpers.

A stranger gets a 404 (they never learn whether the object exists) and the refusal is written to
the access log, like every read.
"""

from django.http import Http404, HttpRequest

from portal.access import is_staff, log_access
from portal.models import AccessLog
from records.models import CorrectionRequest, Guardianship, Patient, Report


def _refuse(request: HttpRequest, object_type: str, pk: object) -> Http404:
    log_access(request, action=AccessLog.Action.DENIED, object_type=object_type, object_id=pk)
    return Http404()


def guardianship_for(request: HttpRequest, pk: int, *, what: str = "patient") -> Guardianship:
    """A logged-in client's link to patient `pk`, with the patient, in one query. `what` names
    the object in the access log line of a refusal (the patient, or their photo)."""
    link = (
        Guardianship.objects.select_related("patient")
        .filter(patient_id=pk, client__user=request.user)
        .first()
    )
    if link is None:
        raise _refuse(request, what, pk)
    return link


def owner_link_for(request: HttpRequest, pk: int) -> Guardianship:
    """Like `guardianship_for`, for what only an owner or co-owner may do (edit the animal): a
    pet-sitter is refused as a stranger is, with a 404 and a line in the access log."""
    link = (
        Guardianship.objects.select_related("patient")
        .filter(patient_id=pk, client__user=request.user)
        .exclude(role=Guardianship.Role.SITTER)
        .first()
    )
    if link is None:
        raise _refuse(request, "patient", pk)
    return link


def patient_for_staff(request: HttpRequest, pk: int, *, what: str = "patient") -> Patient:
    if not is_staff(request.user):
        raise _refuse(request, what, pk)
    patient = Patient.objects.filter(pk=pk).first()
    if patient is None:
        raise Http404
    return patient


def patient_for_any(request: HttpRequest, pk: int, *, what: str = "patient") -> Patient:
    """For shared endpoints (the photo): staff see every patient, a client only their own."""
    if is_staff(request.user):
        return patient_for_staff(request, pk, what=what)
    return guardianship_for(request, pk, what=what).patient


def report_for(request: HttpRequest, pk: int) -> Report:
    """Staff: any report (drafts included). A client: published reports of patients they own
    or co-own."""
    reports = Report.objects.select_related("patient")
    if not is_staff(request.user):
        reports = reports.visible_to_user(request.user)
    report = reports.filter(pk=pk).first()
    if report is None:
        raise _refuse(request, "report", pk)
    return report


def report_for_staff(request: HttpRequest, pk: int) -> Report:
    report = Report.objects.select_related("patient").filter(pk=pk).first()
    if report is None:
        raise Http404
    return report


def correction_for_staff(pk: int) -> CorrectionRequest:
    correction = CorrectionRequest.objects.select_related("patient").filter(pk=pk).first()
    if correction is None:
        raise Http404
    return correction
