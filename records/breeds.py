"""Common breeds per species, offered to owners as suggestions (`<datalist>`): free text stays
possible, since a list never holds every breed or cross.

Breed names are written the way French owners and the LOF/LOOF registries write them. They are
proper names, not interface text, so they are not translated: an English reader of a French
clinic's portal sees the same words the clinic's team uses.
"""

from records.models import Species

BREEDS: dict[str, tuple[str, ...]] = {
    Species.DOG: (
        "Beagle",
        "Berger allemand",
        "Berger australien",
        "Berger belge malinois",
        "Bichon frisé",
        "Bichon maltais",
        "Border collie",
        "Bouledogue français",
        "Boxer",
        "Cane corso",
        "Carlin",
        "Cavalier King Charles",
        "Chihuahua",
        "Cocker anglais",
        "Croisé",
        "Épagneul breton",
        "Golden retriever",
        "Jack Russell",
        "Labrador",
        "Setter anglais",
        "Shih tzu",
        "Spitz nain (loulou de Poméranie)",
        "Staffordshire bull terrier",
        "Teckel",
        "West Highland white terrier",
        "Yorkshire terrier",
    ),
    Species.CAT: (
        "Européen",
        "Abyssin",
        "Bengal",
        "British shorthair",
        "Chartreux",
        "Exotic shorthair",
        "Maine coon",
        "Norvégien",
        "Persan",
        "Ragdoll",
        "Sacré de Birmanie",
        "Savannah",
        "Scottish fold",
        "Siamois",
        "Sibérien",
        "Sphynx",
        "Croisé",
    ),
    Species.RABBIT: (
        "Bélier nain",
        "Nain de couleur",
        "Tête de lion",
        "Rex",
        "Angora",
        "Géant des Flandres",
        "Croisé",
    ),
    Species.HORSE: (
        "Selle français",
        "Pur-sang",
        "Trotteur français",
        "Pur-sang arabe",
        "Connemara",
        "Shetland",
        "Haflinger",
        "Frison",
        "Quarter horse",
        "Comtois",
        "Poney français de selle",
    ),
    Species.BIRD: (
        "Perruche ondulée",
        "Calopsitte",
        "Inséparable",
        "Canari",
        "Perroquet gris du Gabon",
        "Conure",
        "Poule",
    ),
    Species.RODENT: (
        "Cochon d'Inde",
        "Hamster doré",
        "Hamster russe",
        "Rat",
        "Souris",
        "Chinchilla",
        "Gerbille",
        "Dègue du Chili",
    ),
    Species.REPTILE: (
        "Tortue d'Hermann",
        "Pogona",
        "Gecko léopard",
        "Python royal",
        "Serpent des blés",
    ),
}


def breeds_for(species: str) -> tuple[str, ...]:
    """The suggestions for one species (none for a person or "other")."""
    return BREEDS.get(species, ())


def all_breeds() -> list[str]:
    """Every suggestion once, for a form whose species is not chosen yet."""
    return sorted({breed for breeds in BREEDS.values() for breed in breeds})
