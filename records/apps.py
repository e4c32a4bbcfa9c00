from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = _("Records")

    def dashboard_panels(self, request: HttpRequest, *, staff: bool) -> list:
        from portal.dashboard import Panel
        from records.models import Patient

        if staff:
            return []
        patients = Patient.objects.of_client(request.user.client).order_by("name")
        return [
            Panel("records/panels/client_patients.html", order=20, context={"patients": patients})
        ]

    def seed_demo(self, demo) -> None:
        from records.seed import seed_records

        seed_records(demo)
