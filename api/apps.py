from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The JSON API for phone assistants and partners, and its keys (issue 16, docs/api.md)."""

    name = "api"
    verbose_name = _("API")

    def nav_links(self, user) -> list:
        from django.urls import reverse

        from portal.dashboard import NavLink
        from portal.models import Role

        if user.is_clinic_staff and user.role == Role.MANAGER:
            return [NavLink(_("API keys"), reverse("api:keys"), order=95)]
        return []
