"""Care rules applied to a client's message: emergency words. Pure functions, no database.

The system never diagnoses: it only recognises words that mean "call now" and answers with the
clinic's phone numbers. What those words are lives in `messaging.lexicon` (French and English);
`ACCUEIL_MESSAGING_EMERGENCY_WORDS` adds a clinic's own words on top.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

from messaging import lexicon


@dataclass(frozen=True)
class Hit:
    category: str  # lexicon.Category.name, or "custom" for a configured word
    words: str  # the normalised text that matched


def normalise(text: str) -> str:
    """Lower case without accents, curly apostrophes straightened, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'").replace("\u02bc", "'"))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


def _whole_words(alternatives: Iterable[str]) -> re.Pattern[str]:
    # Whole words only, so "saigne" matches "il saigne" but not "enseigne".
    return re.compile(r"(?<!\w)(?:" + "|".join(f"(?:{a})" for a in alternatives) + r")(?!\w)")


@dataclass(frozen=True)
class _Group:
    category: str
    negatable: bool  # a sign (a negation before it cancels it), not an absolute
    requires: re.Pattern[str] | None


@lru_cache(maxsize=1)
def _lexicon() -> tuple[re.Pattern[str], dict[str, _Group]]:
    """One pattern for the whole lexicon, a named group per category and kind: one scan of the
    message instead of one per category. Absolutes come first, so that where an absolute and a
    sign start at the same word ("ne respire plus"), the absolute wins."""
    groups: dict[str, _Group] = {}
    alternatives = []
    for kind in ("absolute", "signs"):
        for index, category in enumerate(lexicon.CATEGORIES):
            patterns = getattr(category, kind)
            if not patterns:
                continue
            name = f"{kind[0]}{index}"
            groups[name] = _Group(
                category=category.name,
                negatable=kind == "signs",
                requires=re.compile(category.requires) if category.requires else None,
            )
            alternatives.append(f"(?P<{name}>" + "|".join(f"(?:{p})" for p in patterns) + ")")
    return _whole_words(alternatives), groups


@lru_cache(maxsize=8)
def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = sorted({normalise(word) for word in words if word.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    return _whole_words(re.escape(word).replace(r"\ ", r"\s+") for word in cleaned)


# Where a clause ends, for the negation window: punctuation and the conjunctions that start a
# new statement ("il ne mange pas, et il saigne": the "pas" is not about the bleeding).
_CLAUSE_END = re.compile(r"[.,;:!?()\n]|(?<!\w)(?:et|mais|car|puis|donc|and|but|then|so)(?!\w)")
_TOKEN = re.compile(r"[\w'-]+")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _is_negation(token: str) -> bool:
    return (
        token in lexicon.NEGATIONS
        or token.startswith("n'")
        or token.endswith("n't")
        or token.endswith("n'")  # "didn't" normalised from a curly apostrophe and cut
    )


def _is_stop(token: str) -> bool:
    # "n'arrete", "s'arrete": the elided pronoun or negation does not hide the verb.
    return re.sub(r"^\w'", "", token) in lexicon.STOPS


def negated(text: str, start: int, end: int) -> bool:
    """Is the sign at text[start:end] denied ("il ne saigne plus", "pas de convulsions")?

    Looks at the three words before the sign in its clause, and the three after it. A negation
    alone denies it; a "stopped" word alone too ("a arrêté de saigner", "the bleeding has
    stopped"); both together cancel out ("n'arrête pas de saigner", "can't stop the
    bleeding"). A word of doubt ("je ne sais pas s'il a mangé...") keeps the sign: when the
    client is unsure, the clinic answers.
    """
    before = text[max(0, start - 80) : start]
    boundaries = [match.end() for match in _CLAUSE_END.finditer(before)]
    if boundaries:
        before = before[boundaries[-1] :]
    words_before = _tokens(before)
    after = text[end : end + 40]
    stop = _CLAUSE_END.search(after)
    words_after = _tokens(after[: stop.start()] if stop else after)[:3]
    if any(word in lexicon.DOUBTS for word in words_before[-6:]):
        return False
    near = words_before[-3:]
    negation = any(_is_negation(word) for word in near)
    stopped = any(_is_stop(word) for word in near)
    stopped_after = any(_is_stop(word) for word in words_after)
    negation_after = any(_is_negation(word) for word in words_after)
    if stopped_after:  # "le saignement s'est arrêté", "... ne s'arrête pas"
        return not negation_after and not negation
    return negation != stopped


def emergencies_in(text: str, words: Iterable[str] | None = None) -> list[Hit]:
    """The emergency signs in `text`, in order of appearance.

    `words` replaces the lexicon with a plain list (tests, a clinic's own words); by default
    the lexicon is used plus the words configured in ACCUEIL_MESSAGING_EMERGENCY_WORDS.
    """
    plain = normalise(text)
    hits: list[tuple[int, Hit]] = []
    if words is None:
        pattern, groups = _lexicon()
        for match in pattern.finditer(plain):
            group = groups[match.lastgroup]
            if group.requires is not None and not group.requires.search(plain):
                continue
            if group.negatable and negated(plain, match.start(), match.end()):
                continue
            hits.append((match.start(), Hit(group.category, match.group(0))))
        words = settings.ACCUEIL_MESSAGING_EMERGENCY_WORDS
    pattern = _words_pattern(tuple(words))
    if pattern is not None:
        for match in pattern.finditer(plain):
            if not negated(plain, match.start(), match.end()):
                hits.append((match.start(), Hit("custom", match.group(0))))
    hits.sort(key=lambda item: item[0])
    return [hit for _start, hit in hits]


def emergency_words_in(text: str, words: Iterable[str] | None = None) -> list[str]:
    """The emergency words found in `text` (normalised), in order of appearance."""
    return [hit.words for hit in emergencies_in(text, words)]
