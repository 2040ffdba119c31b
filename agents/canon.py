"""How retrieved canon is shown to the model and cited back to writers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from agents.prompts import Prompts
from agents.schemas import Citation
from memory.bible import BibleStore
from memory.bible_parse import Chunk
from memory.episodes import Episode


def citation(chunk: Chunk) -> Citation:
    return Citation(file=chunk.file, heading=chunk.heading)


def quote(text: str) -> str:
    """Quote canon line by line so it reads as material, not as instructions."""
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def excerpt_block(prompts: Prompts, chunks: Sequence[Chunk], labels: Sequence[str]) -> str:
    if not chunks:
        return ""
    body = "\n".join(
        f"{label}\n{quote(chunk.text)}" for label, chunk in zip(labels, chunks, strict=True)
    )
    return prompts.render("canon_block", excerpts=body) + "\n"


async def relevant_chunks(
    bible: BibleStore,
    threshold: float,
    show: str,
    query: str,
    k: int,
    as_of: Episode | None = None,
) -> list[Chunk]:
    """Sections that bear on the query by the same evidence as ``is_relevant``: a named
    entry, a strong dense match, or dense and keyword search agreeing."""
    hits = await asyncio.to_thread(bible.search, show, query, k, as_of)
    return [h.chunk for h in hits if h.named or h.score >= threshold or h.agrees()]


def unique(citations: Iterable[Citation]) -> list[Citation]:
    out: list[Citation] = []
    for item in citations:
        if item not in out:
            out.append(item)
    return out
