"""Keyword (BM25) and name/alias matching over one show's chunks.

Dense MiniLM search misses questions that hinge on a rare word ("the chaplain", "3am") or a
nickname; this index catches those, and the store fuses both rankings.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

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
        if word in STOPWORDS or (len(word) == 1 and word.isalpha()):
            continue  # 'what's' and 'don't' leave a lone 's' or 't' behind
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
    """BM25 over chunk texts, with per-posting weights precomputed into numpy arrays so a
    query costs a few vector adds per term, not a Python loop over every posting."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str], k1: float = 1.2, b: float = 0.75):
        self.ids = list(ids)
        counts = [Counter(tokens(text)) for text in texts]
        lengths = np.array([sum(c.values()) for c in counts], dtype=np.float32)
        avg = float(lengths.mean()) if len(lengths) else 1.0
        rows: dict[str, list[int]] = defaultdict(list)
        tfs: dict[str, list[int]] = defaultdict(list)
        for row, c in enumerate(counts):
            for term, tf in c.items():
                rows[term].append(row)
                tfs[term].append(tf)
        n = len(self.ids)
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, term_rows in rows.items():
            r = np.array(term_rows, dtype=np.int64)
            freq = np.array(tfs[term], dtype=np.float32)
            idf = math.log(1 + (n - len(r) + 0.5) / (len(r) + 0.5))
            norm = freq + k1 * (1 - b + b * lengths[r] / avg)
            self._postings[term] = (r, (idf * freq * (k1 + 1) / norm).astype(np.float32))

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        scores = np.zeros(len(self.ids), dtype=np.float32)
        hit = False
        for term in set(tokens(query)):
            posting = self._postings.get(term)
            if posting is not None:
                scores[posting[0]] += posting[1]
                hit = True
        if not hit:
            return []
        k = min(k, int(np.count_nonzero(scores)))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[row], float(scores[row])) for row in top]


class NameIndex:
    """Finds the entries a text names, by looking up its word n-grams in a name table."""

    def __init__(self, entities: Iterable[Entity], longest: int = 5) -> None:
        self._table: dict[str, list[Entity]] = defaultdict(list)
        self._longest = 1
        for entity in entities:
            for name in entity.names:
                key = normalise_name(name)
                if len(key) >= 3 and entity not in self._table[key]:
                    self._table[key].append(entity)
                    self._longest = min(longest, max(self._longest, len(key.split())))

    def find(self, text: str) -> list[Entity]:
        words = normalise_name(text).split()
        found: list[Entity] = []
        for size in range(self._longest, 0, -1):
            for start in range(len(words) - size + 1):
                for entity in self._table.get(" ".join(words[start : start + size]), ()):
                    if entity not in found:
                        found.append(entity)
        return found


def phrase_coverage(query: Sequence[str], text: Sequence[str]) -> float:
    """Share of the query's consecutive content-word pairs that the text has in the same order:
    1.0 when the text contains the query's phrasing, whatever the small words between."""
    pairs = list(itertools.pairwise(query))
    if len(pairs) < 2:
        return 0.0
    have = set(itertools.pairwise(text))
    return sum(p in have for p in pairs) / len(pairs)


def reciprocal_rank_fusion(rankings: Iterable[Sequence[str]], k: int = 60) -> dict[str, float]:
    fused: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            fused[item] += 1.0 / (k + rank)
    return fused
