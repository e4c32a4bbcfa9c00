"""Vaccination protocols per species: which vaccines, and when the next injection falls due.

A first vaccination (primo-vaccination) takes `primo_doses` injections `primo_interval` apart;
after that a booster every `booster_interval`. These are the usual French veterinary schedules;
a vet can always change the proposed date before saving.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.translation import gettext_lazy as _

from records.models import Species


@dataclass(frozen=True)
class Vaccine:
    code: str
    label: str
    primo_doses: int = 2
    primo_interval: timedelta = timedelta(weeks=4)
    booster_interval: timedelta = timedelta(days=365)

    def next_due(self, given_on: date, *, doses_before: int) -> date:
        """When the next injection is due, given how many were given before this one."""
        if doses_before + 1 < self.primo_doses:
            return given_on + self.primo_interval
        return given_on + self.booster_interval


PROTOCOLS: dict[str, tuple[Vaccine, ...]] = {
    Species.DOG: (
        Vaccine("chpl", _("CHPL (distemper, hepatitis, parvovirus, leptospirosis)")),
        Vaccine("rabies", _("Rabies"), primo_doses=1),
        Vaccine("kennel-cough", _("Kennel cough"), primo_doses=1),
    ),
    Species.CAT: (
        Vaccine("typhus-coryza", _("Typhus and coryza")),
        Vaccine("felv", _("Feline leukaemia (FeLV)")),
        Vaccine("rabies", _("Rabies"), primo_doses=1),
    ),
    Species.RABBIT: (Vaccine("myxo-vhd", _("Myxomatosis and VHD"), primo_doses=1),),
    Species.HORSE: (
        Vaccine(
            "flu-tetanus", _("Equine influenza and tetanus"), primo_interval=timedelta(weeks=5)
        ),
    ),
}


def vaccines_for(species: str) -> tuple[Vaccine, ...]:
    return PROTOCOLS.get(species, ())


def vaccine(species: str, code: str) -> Vaccine | None:
    return next((item for item in vaccines_for(species) if item.code == code), None)


def vaccine_label(species: str, code: str) -> str:
    """The protocol's name for a vaccine code, or the text itself for a vaccine typed by hand."""
    found = vaccine(species, code)
    return str(found.label) if found else code
