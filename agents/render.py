"""Neutral text renderings of results (Markdown-ish, no platform syntax)."""

from __future__ import annotations

from collections.abc import Sequence

from agents.schemas import BeatSheet, CharacterCard, Citation, LoglineSet
from memory.bible import Hit


def sources_line(citations: Sequence[Citation]) -> str:
    return "Sources: " + " ".join(c.label for c in citations) if citations else ""


def loglines(result: LoglineSet) -> str:
    lines = [f"Loglines for: {result.premise}"]
    for i, item in enumerate(result.loglines, 1):
        lines.append(f"{i}. {item.logline}")
        lines.append(
            f"   protagonist: {item.protagonist} | goal: {item.goal} | "
            f"obstacle: {item.obstacle} | hook: {item.hook}"
        )
    if result.sources:
        lines.append(sources_line(result.sources))
    return "\n".join(lines)


def beats(sheet: BeatSheet) -> str:
    lines = [f"Beat sheet ({sheet.structure}) for: {sheet.premise}"]
    for i, beat in enumerate(sheet.beats, 1):
        story = f" [{beat.story_line} story]" if beat.story_line else ""
        who = f" (with {', '.join(beat.characters)})" if beat.characters else ""
        cites = " " + " ".join(c.label for c in beat.sources) if beat.sources else ""
        lines.append(f"{i}. {beat.name}{story}: {beat.what_happens}{who}{cites}")
    return "\n".join(lines)


def card(c: CharacterCard) -> str:
    facts = [f"status: {c.status}" if c.status else ""]
    if c.first_episode is not None:
        facts.append(f"first episode: {c.first_episode}")
    if c.last_episode is not None:
        facts.append(f"last episode: {c.last_episode}")
    lines = [c.name + (f" (also: {', '.join(c.aliases)})" if c.aliases else "")]
    lines.append(" | ".join(f for f in facts if f))
    lines += [
        f"Who: {c.summary}",
        f"Wants: {c.wants}",
        f"Arc: {c.arc}",
        f"Voice: {c.voice}",
        sources_line(c.sources),
    ]
    return "\n".join(line for line in lines if line)


def search(query: str, hits: Sequence[Hit]) -> str:
    if not hits:
        return f"Nothing in the bible matches '{query}'."
    lines = [f"Bible search: {query}"]
    for hit in hits:
        snippet = " ".join(hit.chunk.text.split())
        snippet = snippet if len(snippet) <= 160 else snippet[:157] + "..."
        lines.append(f"{hit.score:.2f} {hit.chunk.citation} {snippet}")
    return "\n".join(lines)
