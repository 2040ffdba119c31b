"""Stream and cite: the one path from a model's streamed text to a reply a room can trust.

Shared by the canon agent's answers and brainstorm riffs. The text streams as a draft;
nothing is final until ``agents.verify`` has checked it against the canon it was given.
When too little survives, the bible's own sentences (the extractive floor) stand in.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from agents.canon import citation, unique
from agents.extract import Picked, compose
from agents.messages import Delta
from agents.render import sources_line
from agents.schemas import Citation
from agents.text import content_words
from agents.verify import LABEL, verify
from memory.bible_parse import Chunk

log = logging.getLogger(__name__)
SUPPORTING_MOST = 3


@dataclass(frozen=True)
class Cited:
    """The checked text and its citations. ``floor`` is True when the model's text did not
    stand and the bible's sentences replaced it; ``text`` is empty when neither had any."""

    text: str
    citations: list[Citation]
    removed: list[str] = field(default_factory=list)
    floor: bool = False


def supporting(text: str, sections: Sequence[Chunk], least: int = 2) -> list[Citation]:
    """Sections that share at least ``least`` content words with an uncited text."""
    said = content_words(LABEL.sub(" ", text))
    return unique(citation(c) for c in sections if len(said & content_words(c.text)) >= least)


def floor_of(picked: Sequence[Picked]) -> Cited:
    return Cited(compose(picked), unique(p.citation for p in picked), floor=True)


async def stream_and_cite(
    pieces: AsyncIterator[str],
    *,
    canon: Sequence[Chunk],
    instructions: str,
    said: Sequence[str],
    grounded: bool,
    floor: Callable[[], Awaitable[Sequence[Picked]]],
    fallback: Sequence[Citation] = (),
) -> AsyncIterator[Delta | Cited]:
    """Yield each piece as a ``Delta``, then one ``Cited``: the verified text, with the
    sections it cites (or, uncited, the ones that support it, else ``fallback``, named in a
    sources line)."""
    parts: list[str] = []
    async for piece in pieces:
        parts.append(piece)
        yield Delta(piece)
    checked = verify("".join(parts), canon, instructions, said, grounded=grounded)
    if checked.removed:
        log.info("verification removed %d item(s): %s", len(checked.removed), checked.removed)
    if checked.thin:
        yield dataclasses.replace(floor_of(await floor()), removed=checked.removed)
        return
    body, citations = checked.text, checked.citations
    if not citations:
        citations = supporting(body, canon)[:SUPPORTING_MOST] or list(fallback)
        if citations:
            body += "\n\n" + sources_line(citations)
    yield Cited(body, citations, checked.removed)
