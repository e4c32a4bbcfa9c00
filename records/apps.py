from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = _("Records")
    # Reports' `wrapped_key` is found by its name; a patient's photo key is listed here.
    wrapped_key_fields = [("Patient", "photo_key")]

    def ready(self) -> None:
        from records import checks  # noqa: F401 - registers the master-key check

    def dashboard_panels(self, request: HttpRequest, *, staff: bool) -> list:
        from portal.dashboard import Panel
        from records.forms import clinic_today
        from records.models import CareDue, CorrectionRequest, Patient, Report
        from records.views import with_booking

        if staff:
            context = {
                "corrections": list(
                    CorrectionRequest.objects.filter(resolved_at=None)
                    .select_related("patient")
                    .order_by("created_at")[:5]
                ),
                "drafts": list(
                    Report.objects.filter(status=Report.Status.DRAFT)
                    .select_related("patient")
                    .order_by("created_at")[:5]
                ),
                "to_confirm": Patient.objects.to_confirm().count(),
            }
            return [Panel("records/panels/staff_records.html", order=15, context=context)]
        patients = Patient.objects.of_user(request.user).order_by("name", "pk")
        care = CareDue.objects.upcoming_for_user(request.user)[:8]
        context = {"patients": patients, "care": with_booking(care), "today": clinic_today()}
        return [Panel("records/panels/client_patients.html", order=20, context=context)]

    def client_panels(self, request: HttpRequest, client) -> list:
        from portal.dashboard import Panel
        from records.models import Patient

        patients = list(Patient.objects.of_client(client).order_by("name", "pk"))
        context = {"patients": patients}
        return [Panel("records/panels/staff_client.html", order=5, context=context)]

    def nav_links(self, user) -> list:
        from django.urls import reverse

        from portal.dashboard import NavLink

        if user.is_clinic_staff:
            return [NavLink(_("Records"), reverse("records:search"), order=30)]
        return [NavLink(_("My animals"), reverse("records:my_animals"), order=20)]

    def seed_demo(self, demo) -> None:
        from records.seed import seed_records

        seed_records(demo)
