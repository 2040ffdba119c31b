"""Keyword (BM25) and name/alias matching over one show's chunks.

Dense MiniLM search misses questions that hinge on a rare word ("the chaplain", "3am") or a
nickname; this index catches those, and the store fuses both rankings.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does doing for from had has have he
    her hers him his how i if in into is it its me my of on or our she so some than that the
    their them then there these they this those to up was we were what when where which who
    whom why will with would you your about any ever still there's what's whats who's""".split()
)


def tokens(text: str) -> list[str]:
    out = []
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS:
            continue
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


def normalise_name(name: str) -> str:
    name = re.sub(r"[^a-z0-9 ]+", " ", name.lower()).strip()
    name = re.sub(r"^(the|a|an)\s+", "", name)
    return re.sub(r"\s+", " ", name)


@dataclass(frozen=True)
class Entity:
    """A named bible entry (character, place, ...) and the names it answers to."""

    name: str
    type: str
    file: str
    aliases: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class LexicalIndex:
    """BM25 over chunk texts plus a name/alias table; built once per show version."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str], k1: float = 1.2, b: float = 0.75):
        self.ids = list(ids)
        self._k1, self._b = k1, b
        self._postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self._lengths: list[int] = []
        for row, text in enumerate(texts):
            counts = Counter(tokens(text))
            self._lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                self._postings[term].append((row, tf))
        self._avg = (sum(self._lengths) / len(self._lengths)) if self._lengths else 1.0

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        scores: dict[int, float] = defaultdict(float)
        n = len(self.ids)
        for term in set(tokens(query)):
            posting = self._postings.get(term)
            if not posting:
                continue
            idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
            for row, tf in posting:
                norm = tf + self._k1 * (1 - self._b + self._b * self._lengths[row] / self._avg)
                scores[row] += idf * tf * (self._k1 + 1) / norm
        best = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[:k]
        return [(self.ids[row], score) for row, score in best]


def mentioned_entities(text: str, entities: Iterable[Entity]) -> list[Entity]:
    """Entities whose name or alias appears in the text as whole words."""
    haystack = f" {normalise_name(text)} "
    found = []
    for entity in entities:
        for name in entity.names:
            needle = normalise_name(name)
            if len(needle) >= 3 and f" {needle} " in haystack:
                found.append(entity)
                break
    return found


def reciprocal_rank_fusion(rankings: Iterable[Sequence[str]], k: int = 60) -> dict[str, float]:
    fused: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            fused[item] += 1.0 / (k + rank)
    return fused
