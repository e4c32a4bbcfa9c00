from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """The client's data rights: export, correction, erasure, the privacy notice (issue 11)."""

    name = "privacy"
    verbose_name = _("Privacy")
