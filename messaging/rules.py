"""Care rules applied to a client's message: emergency words. Pure functions, no database.

The system never diagnoses: it only recognises words that mean "call now" and answers with the
clinic's phone numbers.
"""

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings


def normalise(text: str) -> str:
    """Lower case without accents, curly apostrophes straightened, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


@lru_cache(maxsize=8)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = sorted({normalise(word) for word in words if word.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    # Whole words only, so "saigne" matches "il saigne" but not "enseigne".
    alternatives = "|".join(re.escape(word).replace(r"\ ", r"\s+") for word in cleaned)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def emergency_words_in(text: str, words: Iterable[str] | None = None) -> list[str]:
    """The emergency words found in `text` (normalised), in order of appearance."""
    pattern = _pattern(
        tuple(words if words is not None else settings.ACCUEIL_MESSAGING_EMERGENCY_WORDS)
    )
    if pattern is None:
        return []
    return [match.group(0) for match in pattern.finditer(normalise(text))]
