"""The privacy notice: the clinic's own text, or a sensible default until it writes one."""

from django.utils.translation import gettext as _

from portal.models import Clinic
from privacy import conf
from privacy.models import PrivacyNotice


def default_paragraphs(clinic: Clinic) -> list[str]:
    values = {"clinic": clinic.name, "years": conf.medical_retention_years()}
    return [
        _(
            "%(clinic)s runs this portal to care for your animals: appointments, medical "
            "records, documents, messages and reminders. %(clinic)s is responsible for the "
            "data it holds about you."
        )
        % values,
        _(
            "What we keep: your name and contact details, your animals and their medical "
            "history, your appointments, the messages you exchange with the team, the "
            "notifications we send you and your choices about them."
        )
        % values,
        _(
            "Why: to provide care and to keep the medical records the veterinary profession "
            "must keep; to remind you of appointments and care when you agreed to it; news "
            "and campaigns only with your consent, which you can withdraw at any time."
        )
        % values,
        _(
            "Who sees it: only the clinic's team, each according to their role. Every opening "
            "of a medical file is recorded. Text messages and e-mails go through our sending "
            "providers, which never receive your animals' medical details."
        )
        % values,
        _(
            "How long: medical records are kept for %(years)s years after the last care, as "
            "French veterinary practice requires; the rest as long as your account is open."
        )
        % values,
        _(
            'Your rights: in your space, under "Your data", you can download all your data, '
            "ask for a correction of your details, and close your account. You can also "
            "contact the clinic, or complain to the CNIL (www.cnil.fr)."
        )
        % values,
    ]


def paragraphs(language: str) -> list[str]:
    """The notice in `language`, as paragraphs (an empty line separates them)."""
    text = PrivacyNotice.current().text_for(language).replace("\r\n", "\n").strip()
    if not text:
        return default_paragraphs(Clinic.current())
    return [part.strip() for part in text.split("\n\n") if part.strip()]
