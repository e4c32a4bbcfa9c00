import pytest

from messaging.rules import emergency_words_in, normalise


def test_it_normalises_accents_case_and_spaces():
    assert normalise("  EMPOISONNÉ   ce   matin ") == "empoisonne ce matin"


@pytest.mark.parametrize(
    "text",
    [
        "Mon chat SAIGNE beaucoup",
        "je crois qu'il est empoisonne",
        "Elle ne   respire plus !",
        "il fait des Convulsions",
        "My dog is bleeding",
        "she was poisoned",
        "he is NOT breathing",
        "a seizure this morning",
    ],
)
def test_it_finds_emergency_words_in_french_and_english(text):
    assert emergency_words_in(text)


@pytest.mark.parametrize(
    "text", ["Il enseigne le piano", "Bonjour, un rendez-vous pour un vaccin ?", "breathing fine"]
)
def test_it_ignores_words_that_only_contain_an_emergency_word(text):
    assert emergency_words_in(text) == []


def test_it_uses_the_configured_list():
    assert emergency_words_in("code rouge ici", ["Code Rouge"]) == ["code rouge"]
    assert emergency_words_in("il saigne", []) == []
