from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HouseholdConfig(AppConfig):
    """Co-owners and pet-sitters: an owner shares chosen animals with another account (issue 12)."""

    name = "household"
    verbose_name = _("Household")

    def nav_links(self, user) -> list:
        from django.urls import reverse

        from portal.dashboard import NavLink

        if user.is_clinic_staff:
            return []
        return [NavLink(_("Household"), reverse("household:home"), order=25)]

    def seed_demo(self, demo) -> None:
        from household.seed import seed_household

        seed_household(demo)
