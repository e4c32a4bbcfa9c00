from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """The client's data rights: export, correction, erasure, the privacy notice (issue 11)."""

    name = "privacy"
    verbose_name = _("Privacy")

    def nav_links(self, user) -> list:
        from django.urls import reverse

        from portal.dashboard import NavLink

        if user.is_clinic_staff:
            return [NavLink(_("Privacy requests"), reverse("privacy:requests"), order=80)]
        return [NavLink(_("Your data"), reverse("privacy:home"), order=80)]

    def client_panels(self, request, client) -> list:
        from portal.dashboard import Panel
        from privacy.models import ErasureRequest, ProfileCorrection

        corrections = list(ProfileCorrection.objects.filter(client=client, resolved_at=None)[:5])
        erasure = ErasureRequest.objects.filter(
            client=client, status=ErasureRequest.Status.PENDING
        ).first()
        return [
            Panel(
                "privacy/panels/staff_client.html",
                order=90,
                context={"corrections": corrections, "erasure": erasure},
            )
        ]
