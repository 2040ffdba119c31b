"""The extractive floor: an answer made of the bible's own sentences, each with its citation.

Used when the model is a base model (it continues prompts instead of answering), when a
room asks for it (WR_ANSWER_MODE=extract), and when too little of a generated answer
survives verification. Nothing in it can be invented: every sentence is copied from a
retrieved section and cited to it.

Sentences are ranked by meaning (MiniLM cosine with the question, the section heading as
context) and by the question's rarer words they share, with a small bonus for the sections
retrieval ranked first.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from agents.schemas import Citation
from agents.text import content_words, sentences
from memory.bible_parse import Chunk

EmbedFn = Callable[[Sequence[str]], np.ndarray]

_EMPHASIS = re.compile(r"(?<!\w)[*_]{1,2}([^*_\n]+)[*_]{1,2}(?!\w)")
DENSE_WEIGHT = 0.6
LEXICAL_WEIGHT = 0.4
RANK_BONUS = 0.05
# "Who is Jun?": the entry named is the answer, and its lead section defines it.
ENTRY_BONUS = 0.15
LEAD_BONUS = 0.1
KEEP_SHARE = 0.7  # further sentences must score at least this share of the best one


def plain(text: str) -> str:
    """Markdown emphasis off and line breaks folded: the sentence as a writer reads it."""
    return " ".join(_EMPHASIS.sub(r"\1", text).split())


@dataclass(frozen=True)
class Picked:
    sentence: str
    chunk: Chunk
    score: float

    @property
    def citation(self) -> Citation:
        return Citation(file=self.chunk.file, heading=self.chunk.heading)


class Extractor:
    """Picks the sentences that answer a question; keeps sentence vectors between calls (the
    bible changes rarely, and a thread asks about the same sections again)."""

    def __init__(self, embed: EmbedFn, cache_size: int = 4096) -> None:
        self._embed = embed
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vec in zip(missing, self._embed(missing), strict=True):
                self._cache[text] = vec
        for text in texts:
            self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return np.stack([self._cache[t] for t in texts])

    def pick(
        self,
        question: str,
        chunks: Sequence[Chunk],
        most: int = 3,
        about: Sequence[str] = (),
    ) -> list[Picked]:
        """The sentences that best answer the question, best first; ``about`` names the files
        of the entries the question is about."""
        candidates = [
            (rank, chunk, plain(s))
            for rank, chunk in enumerate(chunks)
            for s in sentences(plain(chunk.text))
            if len(s.split()) >= 3
        ]
        if not candidates:
            return []
        asked = content_words(question)
        docs = [content_words(f"{_entry_words(c)} {_leaf(c)} {s}") for _, c, s in candidates]
        idf = {w: math.log(1 + len(docs) / (1 + sum(w in d for d in docs))) for w in asked}
        total = sum(idf.values()) or 1.0
        lead = _lead_files(asked, chunks, about)
        qvec = self._vectors([question])[0]
        svecs = self._vectors([f"{_leaf(c)}. {s}" for _, c, s in candidates])
        dense = svecs @ qvec
        scored = sorted(
            (
                DENSE_WEIGHT * float(d)
                + LEXICAL_WEIGHT * sum(idf[w] for w in asked & doc) / total
                + RANK_BONUS / (1 + rank)
                + (ENTRY_BONUS + LEAD_BONUS * _is_lead(chunk) if chunk.file in lead else 0.0),
                i,
            )
            for i, (d, doc, (rank, chunk, _)) in enumerate(
                zip(dense, docs, candidates, strict=True)
            )
        )
        scored.reverse()
        best = scored[0][0]
        out: list[Picked] = []
        for score, i in scored:
            if len(out) >= most or (out and score < KEEP_SHARE * best):
                break
            _, chunk, sentence = candidates[i]
            if all(p.sentence != sentence for p in out):
                out.append(Picked(sentence, chunk, score))
        return out


def _lead_files(asked: set[str], chunks: Sequence[Chunk], about: Sequence[str]) -> set[str]:
    """The named entries, when the question asks nothing but who or what they are (every
    word it carries is one of their names)."""
    names = {w for c in chunks if c.file in about for w in content_words(_entry_words(c))}
    return set(about) if asked and asked <= names else set()


def _is_lead(chunk: Chunk) -> bool:
    return int(chunk.metadata.get("chunk_index", 0)) == 0


def _leaf(chunk: Chunk) -> str:
    """The section's own heading ('Death' of 'Tobias Vell > Death')."""
    return chunk.heading.rsplit(" > ", 1)[-1]


def _entry_words(chunk: Chunk) -> str:
    """The entry's name and aliases: 'Toby' finds sentences that say 'he'."""
    return f"{chunk.metadata.get('name', '')} {chunk.metadata.get('aliases', '')!s}".replace(
        "|", " "
    )


def compose(picked: Sequence[Picked]) -> str:
    """'From the bible:' and one quoted, cited sentence a line."""
    if not picked:
        return ""
    lines = ["From the bible:"]
    lines += [f"- “{p.sentence}” {p.citation.label}" for p in picked]
    return "\n".join(lines)
