"""A pitch, beat or scene as claims: one sentence each, with who, where and when.

Claim extraction is deterministic on purpose: sentences, the bible's own names and aliases
(so "Old Ben" is Benedikt Sauer), and episode codes. A small base model asked to list claims
invents people; the bible's name table does not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agents.continuity.numbers import value
from memory.episodes import Episode, episodes_in
from memory.lexical import tokens
from memory.timeline import EntityFacts

# Sentence ends, blank lines and list items split; a wrapped line (as bibles are) does not.
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'“A-Z0-9])|\n\s*\n|\n(?=\s*(?:[-•*]|\d+[.)])\s)")
_POSSESSIVE = re.compile(r"^(?:'s|’s|'|’)(?![a-z])")
_ABBREVIATION = re.compile(r"\b(?:Dr|Mr|Mrs|Ms|St|DI|DS|Fr|Capt|Ep|ep|EP)\.$")
_NOT_CONTENT = frozenset(
    {"minut", "hour", "hours", "passe", "car", "cars", "year", "years", "day", "days", "week"}
    | {"weeks", "episo", "ep"}
)


@dataclass(frozen=True)
class Mention:
    """An entry named in a claim: the words used, where, and the entry's facts."""

    said: str
    start: int
    end: int
    facts: EntityFacts

    def possessive(self, text: str) -> bool:
        return bool(_POSSESSIVE.match(text[self.end :]))


@dataclass(frozen=True)
class Claim:
    text: str
    who: tuple[Mention, ...]  # characters
    where: tuple[Mention, ...]  # places
    when: Episode | None
    # the episode was written in the text, in this sentence or an earlier one (not the
    # room's setting): then a past tense is a story event, not backstory
    when_said: bool


def content_stems(text: str) -> set[str]:
    """Words that say what a sentence is about: not numbers, units or small words."""
    return {t[:5] for t in tokens(text) if not t.isdigit() and value(t) is None} - _NOT_CONTENT


def sentences(text: str) -> list[str]:
    parts: list[str] = []
    for piece in _SENTENCE.split(text):
        piece = " ".join(piece.split()).strip(" -•*")
        if parts and _ABBREVIATION.search(parts[-1]):  # "Dr. Park" is one name
            parts[-1] = f"{parts[-1]} {piece}"
        elif piece:
            parts.append(piece)
    return [p for p in parts if len(p.split()) >= 2]


def names_of(fact: EntityFacts, surnames: Mapping[str, int]) -> list[str]:
    """The names an entry answers to in prose: its own, its aliases, an alias without its
    'the' ("harbour master Okonkwo"), and a surname no other character shares."""
    names = list(fact.names)
    names += [a[4:] for a in fact.aliases if a.lower().startswith("the ") and len(a) > 8]
    last = fact.name.split()[-1]
    if fact.type == "character" and surnames.get(last, 0) == 1 and last != fact.name:
        names.append(last)
    return names


def _pattern(name: str) -> re.Pattern[str]:
    """Capitalised names match as written ("Cap" is not "cap it"); lower-case aliases such
    as "the deckhand" match in any case."""
    flags = 0 if name[:1].isupper() else re.IGNORECASE
    return re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", flags)


def mentions(text: str, facts: Sequence[EntityFacts]) -> list[Mention]:
    """Every entry named in the text, longest names first, never two on the same words."""
    surnames: dict[str, int] = {}
    for f in facts:
        surnames[f.name.split()[-1]] = surnames.get(f.name.split()[-1], 0) + 1
    candidates = sorted(
        ((name, f) for f in facts for name in names_of(f, surnames) if len(name) >= 3),
        key=lambda item: -len(item[0]),
    )
    taken: list[tuple[int, int]] = []
    found: list[Mention] = []
    for name, fact in candidates:
        for match in _pattern(name).finditer(text):
            span = match.span()
            if any(span[0] < end and start < span[1] for start, end in taken):
                continue
            taken.append(span)
            found.append(Mention(match.group(0), span[0], span[1], fact))
    return sorted(found, key=lambda m: m.start)


def episode_names(facts: Mapping[str, EntityFacts]) -> list[tuple[str, Episode]]:
    """Episode entries' names and aliases ('finale', 'pilot', 'High Water Mark')."""
    return [
        (name, f.first)
        for f in facts.values()
        if f.type == "episode" and f.first is not None
        for name in f.names
        if not re.search(r"\d", name)
    ]


def _when(sentence: str, named: Sequence[tuple[str, Episode]], season: int) -> Episode | None:
    found = [e for _, e in episodes_in(sentence, season)]
    found += [e for name, e in named if _pattern(name).search(sentence)]
    return max(found) if found else None


def extract_claims(
    text: str, facts: Mapping[str, EntityFacts], as_of: Episode | None
) -> list[Claim]:
    """Sentences with the people, places and episode they are about. An episode written in a
    sentence carries to the sentences after it; else the room's episode applies."""
    people = [f for f in facts.values() if f.type == "character"]
    places = [f for f in facts.values() if f.type == "location"]
    named = episode_names(facts)
    season = as_of.season if as_of else 1
    claims: list[Claim] = []
    carried: Episode | None = None
    for sentence in sentences(text):
        said = _when(sentence, named, season)
        carried = said or carried
        when = carried or as_of
        claims.append(
            Claim(
                sentence,
                tuple(mentions(sentence, people)),
                tuple(mentions(sentence, places)),
                when,
                carried is not None,
            )
        )
    return claims
