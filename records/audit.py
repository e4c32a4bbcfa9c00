"""A client sees who at the clinic opened their animals' files (issue 11).

Lines of the access log about the client's animals — the file, its photo, its reports — read by
a member of staff. Never another client's lines (a co-owner's reads, a stranger's refused try)
and never the client's own: only the clinic's reads. Owners and co-owners see them; a
pet-sitter, who does not see the reports, does not see who read them either.
"""

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.access import client_required
from portal.audit import object_label
from portal.models import STAFF_ROLES, AccessLog
from records.access import guardianship_for
from records.models import Guardianship, Report

PER_PAGE = 50
# Reads, not refusals: what someone at the clinic actually opened.
READS = (AccessLog.Action.VIEW, AccessLog.Action.DOWNLOAD)


@client_required
@require_GET
def access_history(request: HttpRequest) -> HttpResponse:
    links = Guardianship.objects.filter(client__user=request.user).select_related("patient")
    wanted = request.GET.get("patient", "")
    if wanted:
        if not wanted.isdigit():
            raise Http404
        links = [guardianship_for(request, int(wanted))]
    patients = {link.patient_id: link.patient for link in links if link.sees_documents}
    if wanted and not patients:
        raise Http404  # a pet-sitter's animal: the same answer as a stranger's
    reports = dict(Report.objects.filter(patient_id__in=patients).values_list("pk", "patient_id"))
    ids = [str(pk) for pk in patients]
    lines = (
        AccessLog.objects.filter(action__in=READS, user__role__in=STAFF_ROLES)
        .filter(
            Q(object_type__in=("patient", "patient_photo"), object_id__in=ids)
            | Q(object_type="report", object_id__in=[str(pk) for pk in reports])
        )
        .select_related("user")
        .order_by("-at", "-pk")
        if patients
        else AccessLog.objects.none()
    )
    page = Paginator(lines, PER_PAGE).get_page(request.GET.get("page"))
    rows = []
    for line in page.object_list:
        patient_id = (
            reports.get(int(line.object_id)) if line.object_type == "report" else line.object_id
        )
        rows.append((line, patients.get(int(patient_id)), object_label(line.object_type)))
    return render(
        request,
        "records/access_history.html",
        {
            "page": page,
            "rows": rows,
            "patients": list(patients.values()),
            "only": patients[int(wanted)] if wanted else None,
        },
    )
