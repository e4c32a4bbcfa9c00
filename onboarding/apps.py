from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnboardingConfig(AppConfig):
    """A newcomer's way in: from the public page to a booked first visit, account, phone and
    animal on the way (docs/onboarding.md)."""

    name = "onboarding"
    verbose_name = _("New clients")

    def dashboard_panels(self, request, *, staff: bool) -> list:
        """On a client's home, after a sign-up whose e-mail or mobile matched a file the clinic
        keeps: the offer to prove it is theirs."""
        from onboarding.views import possible_record
        from portal.dashboard import Panel

        if staff or possible_record(request) is None:
            return []
        return [Panel("onboarding/panels/possible_record.html", order=1)]
