"""The emergency lexicon against real-life phrasings kept in tests/messaging/corpus/.

One test per direction reports every miss at once (not the first), so that a change to the
lexicon shows all it breaks.
"""

from pathlib import Path

import pytest

from messaging.rules import emergencies_in, emergency_words_in, negated, normalise

CORPUS = Path(__file__).parent / "corpus"


def phrasings(*names: str) -> list[str]:
    lines = []
    for name in names:
        for line in (CORPUS / name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


EMERGENCIES = phrasings("emergencies_fr.txt", "emergencies_en.txt")
ORDINARY = phrasings("ordinary_fr.txt", "ordinary_en.txt")


def test_the_corpus_holds_enough_real_phrasings():
    assert len(EMERGENCIES) >= 100
    assert len(ORDINARY) >= 50
    assert len(phrasings("emergencies_en.txt")) >= 30
    assert len(phrasings("ordinary_en.txt")) >= 20


@pytest.mark.usefixtures("settings")
def test_it_recognises_every_emergency_of_the_corpus():
    missed = [text for text in EMERGENCIES if not emergencies_in(text)]
    assert missed == [], f"{len(missed)} emergencies missed:\n" + "\n".join(missed)


def test_it_leaves_every_ordinary_message_of_the_corpus_alone():
    alarms = {text: emergency_words_in(text) for text in ORDINARY}
    false = {text: words for text, words in alarms.items() if words}
    assert false == {}, f"{len(false)} false alarms:\n" + "\n".join(
        f"{text}  ->  {words}" for text, words in false.items()
    )


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("respire très mal", "breathing"),
        ("du mal à respirer", "breathing"),
        ("a mangé du chocolat et du lys", "poisoning"),
        ("RESPIRAIT MAL", "breathing"),
        ("saignait", "bleeding"),
        ("convulse", "seizure"),
        ("ingéré du xylitol", "poisoning"),
        ("j'ai mis la pipette du chien sur le chat", "permethrin"),
        ("mon chat ne fait plus pipi", "urinary"),
        ("il a le ventre gonflé", "bloat"),
        ("renversé par une voiture", "trauma"),
        ("elle n'arrive pas à mettre bas", "birth"),
        ("il s'est effondré", "collapse"),
    ],
)
def test_it_names_the_kind_of_emergency(text, category):
    assert category in {hit.category for hit in emergencies_in(text)}


def test_accents_and_case_are_optional():
    assert emergencies_in("IL A MANGE DU CHOCOLAT") == emergencies_in("il a mangé du chocolat")
    assert emergencies_in("Il s\u2019étouffe")
    assert emergencies_in("il s'etouffe")


@pytest.mark.parametrize(
    ("text", "denied"),
    [
        ("il ne saigne plus depuis hier", True),
        ("pas de saignement", True),
        ("le saignement s'est arrêté", True),
        ("il n'arrête pas de saigner", False),
        ("I can't stop the bleeding", False),
        ("je ne sais pas s'il a mangé du chocolat", False),
        ("il ne mange pas, et il saigne", False),
    ],
)
def test_a_negation_denies_a_sign_but_doubt_does_not(text, denied):
    plain = normalise(text)
    hits = emergencies_in(text)
    assert (hits == []) is denied, hits
    if not denied:
        start = plain.index(hits[0].words)
        assert not negated(plain, start, start + len(hits[0].words))


def test_a_negation_is_the_emergency_for_breathing():
    assert emergencies_in("il ne respire plus")
    assert emergencies_in("he's not breathing")
