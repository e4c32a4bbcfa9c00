import logging
import re
import unicodedata
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.access import (
    client_of,
    client_required,
    duty_required,
    log_access,
    log_unreadable,
    staff_required,
)
from portal.lib import sealed
from portal.lib.app_hooks import gather
from portal.models import AccessLog, Client
from records import services
from records.access import (
    correction_for_staff,
    guardianship_for,
    owner_link_for,
    patient_for_any,
    patient_for_staff,
    report_for,
    report_for_staff,
)
from records.charts import weight_chart
from records.forms import (
    IDENTIFICATION_TAKEN,
    ConfirmPatientForm,
    CorrectionForm,
    EntryForm,
    LinkClientForm,
    OwnerPatientForm,
    OwnerPhotoForm,
    PatientForm,
    ReportUploadForm,
    ReportWriteForm,
    SearchForm,
    TreatmentForm,
    VaccinationForm,
    WeightForm,
    clinic_today,
)
from records.models import (
    CareDue,
    EntryKind,
    Guardianship,
    HistoryEntry,
    Patient,
    Report,
    Vaccination,
)
from records.overview import overview_for
from records.protocols import vaccine

logger = logging.getLogger(__name__)


# --- Owners --------------------------------------------------------------------------------------


@client_required
@require_GET
def my_animals(request: HttpRequest) -> HttpResponse:
    patients = Patient.objects.of_user(request.user).order_by("name", "pk")
    care = CareDue.objects.upcoming_for_user(request.user)
    return render(
        request,
        "records/my_animals.html",
        {"patients": patients, "care": with_booking(care), "today": clinic_today()},
    )


@client_required
@require_http_methods(["GET", "POST"])
def animal_new(request: HttpRequest) -> HttpResponse:
    """A client adds an animal (or, with ?for=person, themselves or a child): saved "declared by
    the owner" until staff confirm it at the first visit."""
    client = client_of(request.user)
    person = request.GET.get("for") == "person"
    if request.method == "GET" and request.GET.get("part") == "breed":
        return _breed_field(request, person=person)
    form = OwnerPatientForm(
        request.POST or None,
        request.FILES or None,
        person=person,
        client=client,
        refresh_url=_breed_url(request),
    )
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.declare_patient(
                client=client, data=form.cleaned_data, photo=form.new_photo, by=request.user
            )
        except services.IdentificationTaken:
            form.add_error("microchip", IDENTIFICATION_TAKEN)
        else:
            messages.success(
                request,
                _("%(name)s is added. The clinic will confirm the details at the first visit.")
                % {"name": patient.name},
            )
            return redirect("records:animal", pk=patient.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "records/owner_patient_form.html", {"form": form}, status=status)


def _breed_url(request: HttpRequest) -> str:
    """Where the species select asks for its breeds: this page, with part=breed."""
    query = request.GET.copy()
    query["part"] = "breed"
    return f"{request.path}?{query.urlencode()}"


def _breed_field(request: HttpRequest, *, person: bool) -> HttpResponse:
    """The breed input and its suggestions for the species just chosen (htmx)."""
    initial = {"species": request.GET.get("species", ""), "breed": request.GET.get("breed", "")}
    form = OwnerPatientForm(person=person, initial=initial)
    return render(request, "records/_owner_patient_fields.html#breed", {"form": form})


@client_required
@require_http_methods(["GET", "POST"])
def animal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """An owner or co-owner edits an animal they declared; once the clinic has confirmed it, only
    its photo (the rest through a correction request). A pet-sitter or a stranger: 404."""
    link = owner_link_for(request, pk)
    patient = link.patient
    declared = patient.declared_by_owner
    if declared and request.method == "GET" and request.GET.get("part") == "breed":
        return _breed_field(request, person=patient.is_person)  # shows nothing of the animal
    log_access(
        request, action=AccessLog.Action.VIEW, object_type="patient", object_id=pk, detail="edit"
    )
    form: OwnerPatientForm | OwnerPhotoForm
    if declared:
        form = OwnerPatientForm(
            request.POST or None,
            request.FILES or None,
            patient=patient,
            client=client_of(request.user),
            refresh_url=_breed_url(request),
        )
    else:
        form = OwnerPhotoForm(request.POST or None, request.FILES or None, patient=patient)
    if request.method == "POST" and form.is_valid():
        try:
            services.edit_declared_patient(
                patient=patient,
                data=form.cleaned_data if declared else None,
                photo=form.new_photo,
                clear_photo=form.photo_cleared,
                by=request.user,
            )
        except services.IdentificationTaken:
            form.add_error("microchip", IDENTIFICATION_TAKEN)
        except services.AlreadyConfirmed:
            messages.error(
                request,
                _(
                    "The clinic has just confirmed these details: nothing was changed. Ask for a "
                    "correction below if something is wrong."
                ),
            )
            return redirect("records:animal", pk=pk)
        else:
            messages.success(request, _("Saved."))
            return redirect("records:animal", pk=pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "patient": patient}
    return render(request, "records/owner_patient_form.html", context, status=status)


def with_booking(care) -> list[CareDue]:
    items = list(care)
    for item in items:
        item.booking_url = services.booking_url(item)
        item.renew_url = services.renew_url(item)
    return items


def _wants_fragment(request: HttpRequest) -> bool:
    # htmx restoring a pushed URL after "back" (a history cache miss) needs the whole page.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _kind_filter(request: HttpRequest) -> str:
    kind = request.GET.get("kind", "")
    return kind if kind in EntryKind.values else ""


@client_required
@require_GET
def animal(request: HttpRequest, pk: int) -> HttpResponse:
    link = guardianship_for(request, pk)
    patient = link.patient
    kind = _kind_filter(request)
    log_access(
        request,
        action=AccessLog.Action.VIEW,
        object_type="patient",
        object_id=patient.pk,
        detail=f"history{':' + kind if kind else ''}",
    )
    entries = HistoryEntry.objects.timeline(patient, kind).defer("internal_notes")
    context = {
        "patient": patient,
        "link": link,
        "entries": entries,
        "kind": kind,
        "kinds": EntryKind.choices,
    }
    if _wants_fragment(request):
        return render(request, "records/animal.html#timeline", context)
    overview = overview_for(patient, with_reports=link.sees_documents)
    context.update(
        care=with_booking(overview.care),
        chart=weight_chart(overview.weights),
        reports=overview.reports,
        correction_form=CorrectionForm(),
        today=clinic_today(),
        # What other apps show about this animal (orders: its treatments, to renew).
        panels=sorted(gather("patient_panels", request, link), key=lambda panel: panel.order),
    )
    return render(request, "records/animal.html", context)


@client_required
@require_POST
def correction(request: HttpRequest, pk: int) -> HttpResponse:
    link = guardianship_for(request, pk)
    form = CorrectionForm(request.POST)
    if form.is_valid():
        services.request_correction(
            patient=link.patient,
            client=client_of(request.user),
            message=form.cleaned_data["message"],
        )
        messages.success(request, _("Thank you: the clinic will check and correct the details."))
    else:
        messages.error(request, _("Please describe what should be corrected."))
    return redirect("records:animal", pk=pk)


@login_required
@require_GET
def patient_photo(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    patient = patient_for_any(request, pk, what="patient_photo")
    if not patient.photo:
        raise Http404
    log_access(request, action=AccessLog.Action.VIEW, object_type="patient_photo", object_id=pk)
    response = StreamingHttpResponse(
        _decrypted_photo(request, patient), content_type=patient.photo_content_type
    )
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _decrypted_photo(request: HttpRequest, patient: Patient):
    """The photo's plaintext, verified whole before the first byte goes out; 404 if unreadable
    (a missing file, a wrong key, tampering), which is logged."""
    try:
        handle, chunks = sealed.open_verified(
            patient.photo.name, patient.photo_key, patient.photo_aad
        )
    except sealed.Unreadable as error:
        logger.error("Photo of patient %s could not be read: %s", patient.pk, error)
        raise Http404 from None
    return sealed.stream(request, chunks, handle)


# --- Reports: download (owners and staff) --------------------------------------------------------


def _ascii_filename(title: str, day) -> str:
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9._-]+", "-", plain).strip("-._")[:80] or "report"
    return f"{day:%Y-%m-%d}-{plain}.pdf"


def content_disposition(title: str, day) -> str:
    """attachment with an ASCII fallback and the real name per RFC 5987 (accents kept)."""
    ascii_name = _ascii_filename(title, day)
    readable = re.sub(r'[\x00-\x1f\x7f"\\/]+', "-", title).strip()[:120] or "report"
    utf8_name = quote(f"{day:%Y-%m-%d} {readable}.pdf", safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{utf8_name}"


@login_required
@require_GET
def report_download(request: HttpRequest, pk: int) -> HttpResponse:
    report = report_for(request, pk)
    try:
        handle, chunks = sealed.open_verified(report.file.name, report.wrapped_key, report.aad)
    except sealed.Unreadable as error:
        return _unreadable(request, report, str(error))
    log_access(request, action=AccessLog.Action.DOWNLOAD, object_type="report", object_id=report.pk)
    stream = sealed.stream(request, chunks, handle)
    response = StreamingHttpResponse(stream, content_type="application/pdf")
    response["Content-Length"] = str(report.plaintext_size)
    response["Content-Disposition"] = content_disposition(report.title, report.date)
    response["Cache-Control"] = "no-store, private"
    response["Pragma"] = "no-cache"
    return response


def _unreadable(request: HttpRequest, report: Report, why: str) -> HttpResponse:
    log_unreadable(request, object_type="report", object_id=report.pk, why=why)
    return render(request, "records/report_unreadable.html", {"report": report}, status=500)


# --- Staff: search, patients ---------------------------------------------------------------------


@staff_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    clients = list(Client.objects.search(query).prefetch_related("patients")[:25]) if query else []
    patients = list(Patient.objects.search(query).prefetch_related("clients")[:25]) if query else []
    context = {"form": form, "q": query, "clients": clients, "patients": patients}
    template = "records/search.html#results" if _wants_fragment(request) else "records/search.html"
    return render(request, template, context)


# How many declared patients the "to confirm" page lists at once (the oldest first).
TO_CONFIRM_PAGE = 100


@staff_required
@require_GET
def to_confirm(request: HttpRequest) -> HttpResponse:
    """Patients their owners declared online, for reception to confirm at the first visit."""
    waiting = Patient.objects.to_confirm()
    patients = list(
        waiting.prefetch_related(
            Prefetch("guardianships", queryset=Guardianship.objects.select_related("client"))
        )[: TO_CONFIRM_PAGE + 1]
    )
    more = len(patients) > TO_CONFIRM_PAGE
    context = {
        "patients": patients[:TO_CONFIRM_PAGE],
        "more": more,
        "total": waiting.count() if more else len(patients),
    }
    return render(request, "records/to_confirm.html", context)


@duty_required("clients")
@require_POST
def confirm_patient(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm a declared patient, with its birth date corrected if need be; a young animal gets
    its species' first vaccination proposed (records.services.confirm_patient)."""
    patient = patient_for_staff(request, pk)
    form = ConfirmPatientForm(request.POST)
    if not form.is_valid():
        return _form_again(request, patient, "confirm", confirm_form=form)
    log_access(
        request, action=AccessLog.Action.VIEW, object_type="patient", object_id=pk, detail="confirm"
    )
    if not patient.declared_by_owner:
        messages.info(request, _("These details were already confirmed."))
        return redirect("records:staff_patient", pk=pk)
    born = form.cleaned_data["birth_date"]
    confirmed = services.confirm_patient(
        patient=patient,
        by=request.user,
        birth_date=born if born is not None and born != patient.birth_date else None,
    )
    if confirmed.protocol_suggested_at is not None:  # only a confirmation proposes it
        messages.success(
            request, _("Details confirmed. The first vaccination is proposed in the care due.")
        )
    else:
        messages.success(request, _("Details confirmed."))
    return redirect("records:staff_patient", pk=pk)


@duty_required("clients")
@require_http_methods(["GET", "POST"])
def patient_new(request: HttpRequest) -> HttpResponse:
    client = None
    client_pk = request.GET.get("client") or request.POST.get("client")
    if client_pk and str(client_pk).isdigit():
        client = Client.objects.filter(pk=client_pk).first()
    form = PatientForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        patient = services.create_patient(
            patient=form.save(commit=False),
            client=client,
            role=Guardianship.Role.OWNER,
            photo=form.new_photo,
        )
        messages.success(request, _("Patient record created."))
        return redirect("records:staff_patient", pk=patient.pk)
    return render(request, "records/patient_form.html", {"form": form, "client": client})


@duty_required("clients")
@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for_staff(request, pk)
    log_access(
        request, action=AccessLog.Action.VIEW, object_type="patient", object_id=pk, detail="edit"
    )
    form = PatientForm(request.POST or None, request.FILES or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        services.update_patient(
            patient=form.save(commit=False), photo=form.new_photo, clear_photo=form.photo_cleared
        )
        messages.success(request, _("The patient's details are saved."))
        return redirect("records:staff_patient", pk=patient.pk)
    return render(request, "records/patient_form.html", {"form": form, "patient": patient})


@duty_required("clients")
@require_POST
def patient_link(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for_staff(request, pk)
    form = LinkClientForm(request.POST)
    if form.is_valid():
        services.link_client(
            patient=patient, client=form.cleaned_data["client"], role=form.cleaned_data["role"]
        )
        messages.success(request, _("Client linked."))
    else:
        messages.error(request, _("Choose a client to link."))
    return redirect("records:staff_patient", pk=patient.pk)


def _staff_page_context(request: HttpRequest, patient: Patient, **forms) -> dict:
    today = clinic_today()
    kind = _kind_filter(request)
    context = {
        "patient": patient,
        "kind": kind,
        "kinds": EntryKind.choices,
        "entries": HistoryEntry.objects.timeline(patient, kind),
        "links": patient.guardianships.select_related("client"),
        "care": CareDue.objects.pending().filter(patient=patient).select_related("patient"),
        "chart": weight_chart(list(patient.weights.all())),
        "reports": patient.reports.select_related("author"),
        "corrections": patient.corrections.filter(resolved_at=None).select_related("client"),
        "confirm_form": ConfirmPatientForm(initial={"birth_date": patient.birth_date}),
        "today": today,
        "entry_form": EntryForm(initial={"date": today}),
        "vaccination_form": _vaccination_form(patient, today),
        "treatment_form": TreatmentForm(initial={"start": today}),
        "weight_form": WeightForm(initial={"date": today}),
        "upload_form": ReportUploadForm(initial={"date": today}),
        "write_form": ReportWriteForm(initial={"date": today}),
        "roles": Guardianship.Role.choices,
    }
    context.update(forms)
    return context


@staff_required
@require_GET
def staff_patient(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for_staff(request, pk)
    log_access(request, action=AccessLog.Action.VIEW, object_type="patient", object_id=patient.pk)
    context = _staff_page_context(request, patient)
    link_query = request.GET.get("link_q", "").strip()
    if link_query:
        linked = {link.client_id for link in context["links"]}
        context["candidates"] = [
            client for client in Client.objects.search(link_query)[:10] if client.pk not in linked
        ]
        context["link_q"] = link_query
    part = request.GET.get("part")
    if _wants_fragment(request) and part in ("timeline", "link"):
        return render(request, f"records/staff_patient.html#{part}", context)
    return render(request, "records/staff_patient.html", context)


def _vaccination_form(patient: Patient, today, data=None) -> VaccinationForm:
    """The form with the next injection proposed from the protocol for the chosen vaccine."""
    form = VaccinationForm(
        data,
        patient=patient,
        initial={"date": today},
        refresh_url=reverse("records:add_vaccination", args=[patient.pk]),
    )
    if data is None:
        choices = form.fields["vaccine"].choices
        code = choices[0][0] if choices else ""
        form.initial.update(vaccine=code, next_due=_proposed_due(patient, code, today))
    return form


def _proposed_due(patient: Patient, code: str, given_on):
    protocol = vaccine(patient.species, code)
    if protocol is None or given_on is None:
        return None
    doses_before = Vaccination.objects.filter(
        entry__patient=patient, vaccine=code, entry__date__lt=given_on
    ).count()
    return protocol.next_due(given_on, doses_before=doses_before)


def _added(request: HttpRequest, patient: Patient, message: str) -> HttpResponse:
    messages.success(request, message)
    url = reverse("records:staff_patient", args=[patient.pk])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _form_again(request: HttpRequest, patient: Patient, part: str, **forms) -> HttpResponse:
    context = _staff_page_context(request, patient, **forms)
    template = (
        f"records/staff_patient.html#{part}" if request.htmx else "records/staff_patient.html"
    )
    return render(request, template, context, status=200 if request.htmx else 400)


@duty_required("medical")
@require_http_methods(["GET", "POST"])
def add_vaccination(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for_staff(request, pk)
    if request.method == "GET":
        # htmx asks again when the vaccine or the date changes: propose the next due date.
        # The form comes back unbound (no errors shown while the vet is still choosing).
        probe = VaccinationForm(request.GET, patient=patient)
        probe.is_valid()
        initial = {name: probe.data.get(probe.add_prefix(name)) for name in probe.fields}
        initial["next_due"] = _proposed_due(
            patient, initial.get("vaccine") or "", probe.cleaned_data.get("date")
        )
        form = VaccinationForm(patient=patient, initial=initial, refresh_url=request.path)
        context = {"patient": patient, "vaccination_form": form}
        return render(request, "records/staff_patient.html#vaccination", context)
    form = VaccinationForm(request.POST, patient=patient, refresh_url=request.path)
    if not form.is_valid():
        return _form_again(request, patient, "vaccination", vaccination_form=form)
    data = form.cleaned_data
    next_due = data["next_due"] or _proposed_due(patient, data["vaccine"], data["date"])
    services.record_vaccination(
        patient=patient,
        practitioner=request.user,
        vaccine=data["vaccine"],
        batch=data["batch"],
        on=data["date"],
        next_due=next_due,
        title=_("Vaccination: %(vaccine)s")
        % {"vaccine": Vaccination(vaccine=data["vaccine"]).label(patient.species)},
        summary=data["summary"],
        internal_notes=data["internal_notes"],
    )
    return _added(request, patient, _("Vaccination recorded."))


@duty_required("medical")
@require_POST
def add_entry(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for_staff(request, pk)
    form = EntryForm(request.POST)
    if not form.is_valid():
        return _form_again(request, patient, "entry", entry_form=form)
    data = form.cleaned_data
    services.record_entry(
        patient=patient,
        practitioner=request.user,
        kind=data["kind"],
        on=data["date"],
        title=data["title"],
        summary=data["summary"],
        internal_notes=data["internal_notes"],
        next_checkup=data["next_checkup"],
    )
    return _added(request, patient, _("Added to the history."))


@duty_required("medical")
@require_POST
def add_treatment(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for_staff(request, pk)
    form = TreatmentForm(request.POST)
    if not form.is_valid():
        return _form_again(request, patient, "treatment", treatment_form=form)
    data = form.cleaned_data
    services.record_treatment(
        patient=patient,
        practitioner=request.user,
        drug=data["drug"],
        dose=data["dose"],
        start=data["start"],
        end=data["end"],
        antiparasitic=data["antiparasitic"],
        summary=data["summary"],
        internal_notes=data["internal_notes"],
    )
    return _added(request, patient, _("Treatment recorded."))


@duty_required("medical")
@require_POST
def add_weight(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for_staff(request, pk)
    form = WeightForm(request.POST)
    if not form.is_valid():
        return _form_again(request, patient, "weight", weight_form=form)
    services.record_weight(
        patient=patient, by=request.user, on=form.cleaned_data["date"], kg=form.cleaned_data["kg"]
    )
    return _added(request, patient, _("Weight recorded."))


@duty_required("medical")
@require_POST
def upload_report(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for_staff(request, pk)
    form = ReportUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _form_again(request, patient, "upload", upload_form=form)
    data = form.cleaned_data
    services.store_report(
        patient=patient,
        author=request.user,
        title=data["title"],
        on=data["date"],
        source=Report.Source.UPLOAD,
        chunks=data["file"].chunks(),
    )
    return _added(request, patient, _("Report saved as a draft: publish it to share it."))


@duty_required("medical")
@require_POST
def write_report(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for_staff(request, pk)
    form = ReportWriteForm(request.POST)
    if not form.is_valid():
        return _form_again(request, patient, "write", write_form=form)
    data = form.cleaned_data
    services.write_report(
        patient=patient,
        author=request.user,
        title=data["title"],
        on=data["date"],
        summary=data["summary"],
    )
    return _added(request, patient, _("Report saved as a draft: publish it to share it."))


@duty_required("publish")
@require_POST
def publish_report(request: HttpRequest, pk: int) -> HttpResponse:
    report = report_for_staff(request, pk)
    if services.publish_report(report=report, by=request.user):
        messages.success(request, _("Published: the owners are told a new document is there."))
    else:
        messages.info(request, _("This report was already published."))
    return redirect("records:staff_patient", pk=report.patient_id)


@duty_required("publish")
@require_POST
def delete_report(request: HttpRequest, pk: int) -> HttpResponse:
    report = report_for_staff(request, pk)
    if services.delete_draft(report=report):
        messages.success(request, _("Draft deleted."))
    else:
        messages.error(request, _("A published report stays in the record."))
    return redirect("records:staff_patient", pk=report.patient_id)


@duty_required("clients")
@require_POST
def resolve_correction(request: HttpRequest, pk: int) -> HttpResponse:
    correction = correction_for_staff(pk)
    services.resolve_correction(correction=correction, by=request.user)
    messages.success(request, _("Marked as handled."))
    return redirect("records:staff_patient", pk=correction.patient_id)
