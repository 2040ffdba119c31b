"""Neutral text renderings of results: one renderer per result type.

The only markup is ``**bold**`` for titles; each platform turns it into its own (Slack's
``*bold*``, Discord's Markdown, the terminal's bold) and adds only its escaping and limits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agents.continuity.report import ContinuityReport
from agents.messages import Table
from agents.schemas import (
    BeatSheet,
    BrainstormOpening,
    CharacterCard,
    Citation,
    LoglineSet,
    Synopsis,
    SynopsisSentence,
    WrapUp,
)
from memory.bible import Hit
from memory.bible_parse import Chunk

BOLD = re.compile(r"\*\*(.+?)\*\*")


def as_of_note(code: str) -> str:
    """The line that says which episode a reply reasons as of."""
    return f"**As of {code}**: canon revealed after it is hidden."


def bold(text: str) -> str:
    return f"**{text}**"


def plain(text: str) -> str:
    """Neutral text without its markup, for plain output (`writersroom ask`)."""
    return BOLD.sub(r"\1", text)


def sources_line(citations: Sequence[Citation]) -> str:
    return "Sources: " + " ".join(c.label for c in citations) if citations else ""


def loglines(result: LoglineSet) -> str:
    lines = [f"{bold('Loglines')} for: {result.premise}"]
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
    lines = [f"{bold(f'Beat sheet ({sheet.structure})')} for: {sheet.premise}"]
    for i, beat in enumerate(sheet.beats, 1):
        story = f" [{beat.story_line} story]" if beat.story_line else ""
        who = f" (with {', '.join(beat.characters)})" if beat.characters else ""
        cites = " " + " ".join(c.label for c in beat.sources) if beat.sources else ""
        lines.append(f"{i}. {beat.name}{story}: {beat.what_happens}{who}{cites}")
    if sheet.continuity:
        lines += [bold("Continuity:"), *(f"- {line}" for line in sheet.continuity)]
    return "\n".join(lines)


SYNOPSIS_PARAGRAPH = 4  # sentences to a paragraph on a page-length synopsis


def _synopsis_sentence(s: SynopsisSentence) -> str:
    """A sentence, then who pitched the ideas it uses, then the canon it cites. A sentence
    copied from the material, not written by the model, is shown in quotes."""
    text = s.text if s.text[-1] in ".!?…" else f"{s.text}."
    parts = [f"“{text}”" if s.quoted else text]
    if s.pitches:
        parts.append(
            "(pitched by " + "; ".join(f"{p.author}, #{p.number}" for p in s.pitches) + ")"
        )
    parts += [c.label for c in s.sources]
    return " ".join(parts)


def synopsis(s: Synopsis) -> str:
    lines = [f"{bold(f'Synopsis ({s.length})')} of {s.target}"]
    said = [_synopsis_sentence(item) for item in s.sentences]
    step = SYNOPSIS_PARAGRAPH if s.length == "page" else len(said)
    lines += [" ".join(said[i : i + step]) for i in range(0, len(said), step)]
    if s.credits:
        lines.append(
            "Credits: "
            + ", ".join(f"{c.author} ({', '.join(f'#{n}' for n in c.pitches)})" for c in s.credits)
        )
    if s.continuity:
        lines += [bold("Continuity:"), *(f"- {line}" for line in s.continuity)]
    return "\n".join(lines)


def card(c: CharacterCard) -> str:
    facts = [f"status: {c.status}" if c.status else ""]
    if c.first_episode is not None:
        facts.append(f"first episode: {c.first_episode}")
    if c.last_episode is not None:
        facts.append(f"last episode: {c.last_episode}")
    lines = [bold(c.name) + (f" (also: {', '.join(c.aliases)})" if c.aliases else "")]
    lines.append(" | ".join(f for f in facts if f))
    lines += [
        f"Who: {c.summary}",
        f"Wants: {c.wants}",
        f"Arc: {c.arc}",
        f"Voice: {c.voice}",
        sources_line(c.sources),
    ]
    return "\n".join(line for line in lines if line)


def in_code(text: str) -> str:
    """Text for inside a code block: backticks become look-alikes, so nothing a model wrote
    can close the block (and let Markdown, links included, render after it)."""
    return text.replace("`", "\u02cb")


def _cell(text: str, most: int | None = None) -> str:
    """A cell on one line of a monospaced block: its line breaks become spaces and its
    backticks look-alikes, so no cell can close the block or start a fence line; cut to
    ``most`` characters where the full text lives elsewhere (a CSV)."""
    text = in_code(" ".join(text.split()))
    return text if most is None or len(text) <= most else text[: most - 1] + "…"


def table(t: Table, most: int | None = None) -> str:
    """A table as ``Reply.text`` carries it for platforms without tables: the title in bold,
    then the rows in a code block, columns padded to line up in a monospaced font."""
    rows = [[_cell(c) for c in t.columns], *([_cell(c, most) for c in row] for row in t.rows)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(t.columns))]

    def line(row: list[str]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    body = [line(rows[0]), rule, *(line(row) for row in rows[1:])]
    return "\n".join([bold(t.title), "```", *body, "```"])


PROVENANCE_KEYS = ("pitched_by", "approved_by", "date", "thread", "brainstorm")


def search(query: str, hits: Sequence[Hit]) -> str:
    """Search hits as the room and the command line both show them: ranking score (1.00 is
    best), citation, snippet, and who put a room-promoted entry into the bible."""
    if not hits:
        return f"Nothing in the bible matches '{query}'."
    lines = [f"{bold('Bible search:')} {query}"]
    for hit in hits:
        snippet = " ".join(hit.chunk.text.split())
        snippet = snippet if len(snippet) <= 160 else snippet[:157] + "..."
        made = provenance(hit.chunk)
        lines.append(
            f"{hit.rank_score:.2f} {hit.chunk.citation} {snippet}" + (f" {made}" if made else "")
        )
    return "\n".join(lines)


def search_rows(hits: Sequence[Hit]) -> list[dict[str, object]]:
    """Search hits as data (JSON and reply data): ``score`` is the ranking score the order
    follows, ``similarity`` the meaning match alone; promoted entries carry provenance."""
    rows: list[dict[str, object]] = []
    for hit in hits:
        meta = hit.chunk.metadata
        rows.append(
            {
                "file": hit.chunk.file,
                "heading": hit.chunk.heading,
                "text": hit.chunk.text,
                "score": round(hit.rank_score, 4),
                "similarity": round(hit.score, 4),
                "provenance": {k: meta[k] for k in PROVENANCE_KEYS if k in meta} or None,
            }
        )
    return rows


def provenance(chunk: Chunk) -> str:
    """Who put a room-promoted entry into the bible, for search results."""
    meta = chunk.metadata
    if "approved_by" not in meta:
        return ""
    parts = [
        f"pitched by {meta['pitched_by']}" if meta.get("pitched_by") else "",
        f"approved by {meta['approved_by']}",
        str(meta.get("date", "")),
    ]
    return "(" + ", ".join(p for p in parts if p) + ")"


def brainstorm_opening(opening: BrainstormOpening, show: str) -> str:
    lines = [f"{bold('Brainstorm:')} {opening.topic}"]
    if opening.canon:
        lines.append("Canon in play: " + " ".join(c.label for c in opening.canon))
    else:
        lines.append(f"The {show} bible has nothing on this yet, so none of what follows is canon.")
    lines.append("To open:")
    for i, item in enumerate(opening.provocations, 1):
        cites = " " + " ".join(c.label for c in item.sources) if item.sources else ""
        lines.append(f"{i}. {item.text}{cites}")
    lines.append(
        "Pitch with 'pitch: …', vote with a reaction, ask me with a mention or 'riff', "
        "and 'wrap' when you are done."
    )
    return "\n".join(lines)


def _votes(n: int) -> str:
    return f"{n} vote" + ("" if n == 1 else "s")


def wrap_up(w: WrapUp) -> str:
    lines = [f"{bold('Wrap-up:')} {w.topic}", w.summary, "", bold("Decisions:")]
    lines += [f"- {d.text} ({d.author})" for d in w.decisions] or ["- none marked (decision: …)"]
    lines += ["", bold("Top pitches:")]
    lines += [
        f"{i}. #{p.number} {p.author}: {p.text} ({_votes(p.votes)})"
        for i, p in enumerate(w.top_pitches, 1)
    ] or ["- no pitches yet"]
    lines += ["", bold("Open questions:")]
    lines += [f"- {q.text} ({q.author})" for q in w.open_questions] or ["- none"]
    if w.flagged_pitches:
        lines += ["", bold("Pitches with continuity flags:")]
        lines += [f"- {line}" for line in w.flagged_pitches]
    if w.beat_sheet is not None:
        lines += ["", beats(w.beat_sheet)]
    return "\n".join(lines)


def continuity(report: ContinuityReport) -> str:
    """Flags first, each with its evidence; then how much was checked."""
    n = len(report.checked)
    what = f"{n} claim{'s' if n != 1 else ''}"
    if report.skipped:
        what += f" (the last {report.skipped} sentences were not checked: send them separately)"
    if not report.flags:
        return (
            f"**Continuity check** ({report.target}): no contradictions found in {what}.\n"
            "Nothing flagged is not proof of consistency: the bible may not cover it."
        )
    lines = [f"**Continuity check** ({report.target}): {len(report.flags)} flagged in {what}."]
    for i, flag in enumerate(report.flags, start=1):
        how = "certain" if flag.certain else "needs a writer's eye"
        lines.append(f"{i}. **{flag.kind}** ({how}): “{flag.claim}”")
        lines.append(f"   {flag.explanation} {' '.join(s.label for s in flag.sources)}")
    return "\n".join(lines)
