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


# --- First vaccination (issue 12) ----------------------------------------------------------------


@dataclass(frozen=True)
class FirstVaccination:
    """The core primo-vaccination a young animal is proposed when staff confirm its birth date.

    `young_until`: an animal younger than this has most likely not been vaccinated yet (a puppy or
    kitten leaves the breeder around 8 to 12 weeks with, at most, its first injection). `first_at`:
    the earliest age for the first injection of each core vaccine. Only the core vaccines: the
    others (rabies, FeLV, kennel cough) depend on the animal's life and are the vet's call.
    """

    young_until: timedelta
    first_at: tuple[tuple[str, timedelta], ...]


FIRST_VACCINATION: dict[str, FirstVaccination] = {
    Species.DOG: FirstVaccination(timedelta(weeks=16), (("chpl", timedelta(weeks=8)),)),
    Species.CAT: FirstVaccination(timedelta(weeks=16), (("typhus-coryza", timedelta(weeks=8)),)),
    Species.RABBIT: FirstVaccination(timedelta(weeks=10), (("myxo-vhd", timedelta(weeks=5)),)),
}


def first_vaccinations(
    species: str, birth_date: date | None, today: date
) -> list[tuple[str, date]]:
    """(vaccine code, due date) of the first injections to propose, or [] when the animal is not
    young (or its species has no plan, or its birth date is unknown). Due on the day the animal
    reaches the age for it, or today if it already has."""
    plan = FIRST_VACCINATION.get(species)
    if plan is None or birth_date is None or birth_date > today:
        return []
    if today - birth_date >= plan.young_until:
        return []
    return [(code, max(today, birth_date + age)) for code, age in plan.first_at]
