import ast
import gettext
from pathlib import Path

import pytest
from django.test import Client as HttpClient

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_portal_speaks_french_by_default(clinic):
    response = HttpClient().get("/accounts/login/")

    body = response.content.decode()
    assert '<html lang="fr">' in body
    assert "Mot de passe oublié ?" in body
    assert "Appeler la clinique" in body


@pytest.mark.django_db
def test_a_visitor_switches_to_english_and_back(clinic):
    http = HttpClient()

    http.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert "Forgot your password?" in http.get("/accounts/login/").content.decode()

    http.post("/i18n/setlang/", {"language": "fr", "next": "/accounts/login/"})
    assert "Mot de passe oublié ?" in http.get("/accounts/login/").content.decode()


def _entries(po: Path) -> list[tuple[str, str, str, bool, str]]:
    """(msgid, msgid_plural, msgstr, fuzzy, msgctxt) per .po entry; for a plural, msgstr is the
    first form and an empty one stands for any form left untranslated."""
    entries = []
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        parts: dict[str, list[list[str]]] = {
            "msgctxt": [],
            "msgid": [],
            "msgid_plural": [],
            "msgstr": [],
        }
        current: list[str] | None = None
        for line in block.splitlines():
            keyword, _, rest = line.partition(" ")
            key = keyword.split("[")[0]
            if key in parts:
                current = [rest]
                parts[key].append(current)
            elif line.startswith('"') and current is not None:
                current.append(line)
        if not parts["msgid"]:
            continue
        texts = {
            key: ["".join(ast.literal_eval(piece) for piece in pieces) for pieces in values]
            for key, values in parts.items()
        }
        forms = texts["msgstr"]
        msgstr = forms[0] if forms and all(forms) else ""
        plural = texts["msgid_plural"][0] if texts["msgid_plural"] else ""
        context = texts["msgctxt"][0] if texts["msgctxt"] else ""
        entries.append((texts["msgid"][0], plural, msgstr, "#, fuzzy" in block, context))
    return entries


CATALOGUES = [
    po for po in sorted(ROOT.glob("**/locale/fr/LC_MESSAGES/django.po")) if ".venv" not in po.parts
]


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT).parts[0]))
def test_every_french_catalogue_is_complete_and_compiled(po: Path):
    entries = [entry for entry in _entries(po) if entry[0]]
    assert entries, po
    assert [msgid for msgid, _, msgstr, _, _ in entries if not msgstr] == []
    assert [msgid for msgid, _, _, fuzzy, _ in entries if fuzzy] == []
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run `make messages`"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    def compiled_text(msgid: str, plural: str, context: str) -> str:
        if context:
            return (
                compiled.npgettext(context, msgid, plural, 1)
                if plural
                else compiled.pgettext(context, msgid)
            )
        return compiled.ngettext(msgid, plural, 1) if plural else compiled.gettext(msgid)

    stale = [
        msgid
        for msgid, plural, msgstr, _, context in entries
        if compiled_text(msgid, plural, context) != msgstr
    ]
    assert stale == [], f"{mo} is older than {po}: run `make messages`"
    # French has three plural forms in Django's catalogues (1, many, a million): every count
    # must find a translation, not fall back to the English plural.
    untranslated_counts = [
        (msgid, count)
        for msgid, plural, _, _, _ in entries
        if plural
        for count in (1, 4, 1_000_000)
        if compiled.ngettext(msgid, plural, count) in (msgid, plural)
    ]
    assert untranslated_counts == []


def test_no_two_catalogues_translate_the_same_words_differently():
    """Django merges every app's catalogue into one: the same msgid (and context) with two French
    translations shows whichever app comes first, on every page. ("Closed" was the agenda's
    "Fermé" in the messaging inbox, where a conversation is "Fermée".) Give one a context."""
    seen: dict[tuple[str, str, str], tuple[str, Path]] = {}
    clashes = []
    for po in CATALOGUES:
        for msgid, plural, msgstr, _fuzzy, context in _entries(po):
            if not msgid:
                continue
            key = (context, msgid, plural)
            if key in seen and seen[key][0] != msgstr:
                other, where = seen[key]
                clashes.append(
                    f"{msgid!r}: {other!r} ({where.relative_to(ROOT).parts[0]}) vs "
                    f"{msgstr!r} ({po.relative_to(ROOT).parts[0]})"
                )
            seen.setdefault(key, (msgstr, po))
    assert clashes == []
