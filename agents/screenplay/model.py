"""A screenplay as the room reads and writes it, whatever the file was: Fountain or Final
Draft. Readers (``fountain_in``, ``fdx_in``) make one; writers (``fountain_out``,
``fdx_out``) take one. No library type crosses this line, so a library can be swapped by
changing one reader.

A script is a flat list of paragraphs, as both formats store it. Dual dialogue is marked on
the second speech's cue (``dual``), as Fountain's caret marks it; notes and boneyard are
not paragraphs: they are the writers' own asides, never canon, and readers drop them.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    HEADING = "heading"
    ACTION = "action"
    CHARACTER = "character"
    PARENTHETICAL = "parenthetical"  # text without its brackets
    DIALOGUE = "dialogue"
    LYRIC = "lyric"
    TRANSITION = "transition"
    SECTION = "section"  # an outline heading: act, sequence ('#' in Fountain)
    SYNOPSIS = "synopsis"  # an outline note under a section or scene ('=' in Fountain)
    PAGE_BREAK = "page_break"


@dataclass(frozen=True)
class Para:
    """One paragraph. ``dual``: this cue's speech sits beside the speech before it.
    ``number``: a scene number the writer fixed ('12A'). ``level``: a section's depth."""

    kind: Kind
    text: str = ""
    dual: bool = False
    centered: bool = False
    number: str = ""
    level: int = 0


@dataclass(frozen=True)
class Script:
    title: str = ""
    # Title-page fields as written ('Credit', 'Author', 'Draft date'), keys kept as given.
    title_page: dict[str, str] = field(default_factory=dict)
    paras: tuple[Para, ...] = ()


def title_fields(script: Script) -> dict[str, str]:
    """The title page's fields, with the title first where the page has none of its own
    (a script made from a room's result has only ``title``)."""
    fields = dict(script.title_page)
    if script.title and not any(k.lower() == "title" for k in fields):
        fields = {"Title": script.title, **fields}
    return fields


# Cue extensions a writer adds after the name: (V.O.), (O.S.), (CONT'D), (PRE-LAP)...
_EXTENSION = re.compile(r"\s*\(([^()]*)\)\s*$")


def split_cue(cue: str) -> tuple[str, tuple[str, ...]]:
    """'MAREN (V.O.) (CONT'D)' -> ('MAREN', ('V.O.', "CONT'D")); a forced cue's '@' and a
    dual cue's '^' are gone already. Curly apostrophes are made straight."""
    name = " ".join(cue.replace("\u2019", "'").split()).rstrip("^ ")
    found: list[str] = []
    while (m := _EXTENSION.search(name)) and m.start() > 0:
        found.insert(0, " ".join(m.group(1).split()))
        name = name[: m.start()].rstrip()
    return name, tuple(found)


@dataclass(frozen=True)
class Speech:
    """A cue and what it says: (kind, text) for each parenthetical, dialogue or lyric."""

    cue: str  # as written, extensions included
    name: str  # without extensions
    extensions: tuple[str, ...]
    parts: tuple[tuple[Kind, str], ...]
    dual: bool = False

    @property
    def lines(self) -> list[str]:
        """What is said (dialogue and sung lyrics), in order."""
        return [text for kind, text in self.parts if kind in (Kind.DIALOGUE, Kind.LYRIC)]


@dataclass(frozen=True)
class Scene:
    """A heading and the paragraphs under it, up to the next heading; ``heading`` is ''
    for what comes before the first heading (a cold open written without one)."""

    heading: str
    number: str
    paras: tuple[Para, ...]

    def speeches(self) -> list[Speech]:
        return list(speeches(self.paras))

    def action(self) -> list[str]:
        """Action paragraphs; centred text (a title card, a caption) is not action."""
        return [
            p.text
            for p in self.paras
            if p.kind is Kind.ACTION and not p.centered and p.text.strip()
        ]


SPEECH_PARTS = (Kind.PARENTHETICAL, Kind.DIALOGUE, Kind.LYRIC)


def blocks(paras: Sequence[Para]) -> Iterator[tuple[Para, tuple[Para, ...]]]:
    """Each paragraph with the parts of its speech: a cue with the parentheticals, dialogue
    and lyrics after it; any other paragraph with none. What readers and every writer share
    about where a speech ends."""
    i = 0
    while i < len(paras):
        para, i = paras[i], i + 1
        start = i
        if para.kind is Kind.CHARACTER:
            while i < len(paras) and paras[i].kind in SPEECH_PARTS:
                i += 1
        yield para, tuple(paras[start:i])


def speeches(paras: Sequence[Para]) -> Iterator[Speech]:
    """Each cue with the parentheticals, dialogue and lyrics that follow it."""
    for cue, parts in blocks(paras):
        if cue.kind is Kind.CHARACTER:
            name, ext = split_cue(cue.text)
            said = tuple((p.kind, p.text) for p in parts)
            yield Speech(cue.text, name, ext, said, cue.dual)


def scenes(script: Script) -> list[Scene]:
    """The script cut at its headings; text before the first heading is a scene only when
    it holds something other than outline marks and page breaks."""
    out: list[Scene] = []
    heading, number = "", ""
    body: list[Para] = []
    quiet = {Kind.SECTION, Kind.SYNOPSIS, Kind.PAGE_BREAK}

    def close() -> None:
        if heading or any(p.kind not in quiet for p in body):
            out.append(Scene(heading, number, tuple(body)))

    for p in script.paras:
        if p.kind is Kind.HEADING:
            close()
            heading, number, body = p.text, p.number, []
        else:
            body.append(p)
    close()
    return out


LINES_PER_PAGE = 55
# Characters per line of each kind on a standard page (Courier 12, US Letter margins).
_WIDTH = {Kind.ACTION: 61, Kind.DIALOGUE: 35, Kind.LYRIC: 35, Kind.PARENTHETICAL: 25}
_UNPRINTED = (Kind.SECTION, Kind.SYNOPSIS, Kind.PAGE_BREAK)


def page_count(script: Script) -> float:
    """About how many pages the script runs, by the usual estimate: each paragraph wrapped
    at its kind's width (headings, cues and transitions one line), a blank line between
    blocks (a speech is one block: cue, parentheticals and lines), 55 lines a page. Outline
    marks are not printed."""
    printed = [p for p in script.paras if p.kind not in _UNPRINTED]
    lines = 0
    for para, after in zip(printed, [*printed[1:], None], strict=True):
        width = _WIDTH.get(para.kind)
        text = para.text if para.kind is not Kind.PARENTHETICAL else f"({para.text})"
        for line in text.split("\n") if width else [""]:
            lines += max(1, len(textwrap.wrap(line, width or 1)))
        in_speech = para.kind in (Kind.CHARACTER, *SPEECH_PARTS)
        lines += 0 if in_speech and after is not None and after.kind in SPEECH_PARTS else 1
    return lines / LINES_PER_PAGE
