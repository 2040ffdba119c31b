"""Words as the answer checks and the extractor compare them: normalised, stemmed, split
into sentences. Pure functions, shared so both sides agree on what "the same words" means."""

from __future__ import annotations

import re
from collections.abc import Sequence

WORD = re.compile(r"[\w']+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[\"“(]?[A-Z0-9])")
# Words that carry no fact a writer asks about.
STOPWORDS = frozenset(
    """a about actually after again all also am an and any are as at be been before being but
    by can could did do does doing done during each else ever exactly for from get gets got had
    has have he her here hers him his how i if in into is it its just know me mean more most my
    no not now of on once only or other our out over please really remind said say says she so
    some still such tell than that the their them then there these they this those through to
    too up us very was we were what whats when where which while who whom whose why will with
    would you your happen happened happens thing things show series bible""".split()
)


def norm(text: str) -> str:
    """Lowercase words separated by single spaces: quotes, dashes, markup and line breaks
    never decide whether a quote is in the bible."""
    text = text.lower().replace("’", "'").replace("‘", "'").replace("*", "")
    return " ".join(WORD.findall(text.replace("_", " ")))


def words(text: str) -> list[str]:
    return norm(text).split()


def ngrams(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def contains(haystack: str, needle: str) -> bool:
    """Whole-word containment of normalised text."""
    return bool(needle) and f" {needle} " in f" {haystack} "


def sentences(line: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(line) if s.strip()]


def stem(word: str) -> str:
    word = word.lower().removesuffix("'s").strip("'")
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Stemmed words that carry meaning; 'sixteen-year-old' counts as its parts too."""
    found = re.findall(r"[\w']+(?:-[\w']+)*", text.lower())
    parts = {stem(p) for w in found for p in {w, *w.split("-")}}
    return {w for w in parts if w not in STOPWORDS and len(w) > 1}
