"""Emergency words benchmark: how fast the lexicon reads clients' messages.

    .venv/bin/python bench/emergency.py [--messages 10000]

Classifies N messages (the corpus's emergencies and ordinary messages from
tests/messaging/corpus/, plus ordinary messages of everyday length built from common phrases,
about one in five an emergency) with `messaging.rules.emergencies_in`, as `post_message` does
for each client message. Figures are the median of 3 passes over the same messages, after a
warm-up pass (the patterns compile once per process).

Floors, measured in the same run over the same messages:
- `str.lower()` and `in` for one word ("saign"): the least any word search costs;
- `rules.normalise()` alone (accents stripped, case folded, spaces collapsed): the part of the
  cost that any accent-blind matching pays before looking for a single word.

No database, no network: pure Python in this process.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

CORPUS = ROOT / "tests" / "messaging" / "corpus"
PASSES = 3

OPENINGS = ["Bonjour,", "Bonsoir,", "Bonjour docteur,", "Hello,", "Hi,", "Madame, Monsieur,", ""]
MIDDLES = [
    "je voudrais prendre rendez-vous pour le rappel de vaccin de Filou",
    "pouvez-vous renouveler l'ordonnance de croquettes rénales ?",
    "il se gratte beaucoup les oreilles depuis une semaine",
    "elle a bien mangé ce matin et elle a l'air en forme",
    "could you send me the invoice for last week's visit?",
    "I need to move our appointment on Tuesday to later in the afternoon",
    "est-ce que le vermifuge se donne avec ou sans repas ?",
    "la cicatrice est un peu rouge, faut-il s'inquiéter ?",
    "il boite un peu de la patte avant droite depuis la promenade",
    "what food do you recommend for a senior cat with sensitive digestion?",
    "nous partons en vacances, avez-vous une pension à conseiller ?",
]
CLOSINGS = ["Merci beaucoup.", "Bonne journée.", "Thanks!", "Cordialement, Camille", ""]


def corpus(name: str) -> list[str]:
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def build_messages(count: int, seed: int = 18) -> list[str]:
    rng = random.Random(seed)
    emergencies = corpus("emergencies_fr.txt") + corpus("emergencies_en.txt")
    ordinary = corpus("ordinary_fr.txt") + corpus("ordinary_en.txt")
    messages = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.2:
            messages.append(rng.choice(emergencies))
        elif roll < 0.4:
            messages.append(rng.choice(ordinary))
        else:
            parts = [rng.choice(OPENINGS), *rng.sample(MIDDLES, rng.randint(1, 3))]
            messages.append(" ".join([*parts, rng.choice(CLOSINGS)]).strip())
    return messages


def timed(function: Callable[[str], object], messages: list[str]) -> tuple[float, float, int]:
    """Median wall and CPU seconds for one pass over `messages`, and how many gave a truthy
    answer. CPU time is shown too: the machine is shared, and wall time counts the waits."""
    hits = sum(1 for text in messages if function(text))  # warm-up, and the count
    walls, cpus = [], []
    for _ in range(PASSES):
        wall, cpu = time.perf_counter(), time.process_time()
        for text in messages:
            function(text)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()

    import django

    django.setup()
    from messaging.rules import emergencies_in, normalise

    messages = build_messages(args.messages)
    average = sum(map(len, messages)) / len(messages)
    started = time.perf_counter()
    lexicon, lexicon_cpu, flagged = timed(emergencies_in, messages)
    floor, floor_cpu, floor_hits = timed(lambda text: "saign" in text.lower(), messages)
    normalised, normalised_cpu, _ = timed(normalise, messages)
    wall = time.perf_counter() - started

    n = len(messages)
    print(
        f"Emergency words: {n} messages, {average:.0f} characters on average, "
        f"median of {PASSES} passes after a warm-up (wall / CPU)"
    )
    rows = [
        (
            "lexicon (emergencies_in)",
            lexicon,
            lexicon_cpu,
            f"flagged {flagged} ({flagged / n:.0%})",
        ),
        ("floor: lower() + in", floor, floor_cpu, f"one word, {floor_hits} found"),
        ("normalise() alone", normalised, normalised_cpu, ""),
    ]
    for name, seconds, cpu, note in rows:
        print(
            f"  {name:<26}{n / seconds:>10,.0f} messages/s  {seconds / n * 1e6:8.2f} µs/message"
            f"  (CPU {cpu / n * 1e6:7.2f} µs)  {note}"
        )
    print(
        f"  ratio lexicon / floor: {lexicon / floor:.0f}x wall, {lexicon_cpu / floor_cpu:.0f}x CPU;"
        f" lexicon / normalise: {lexicon_cpu / normalised_cpu:.1f}x CPU"
    )
    print(f"  run time {wall:.1f} s")


if __name__ == "__main__":
    main()
