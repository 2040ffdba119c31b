"""Fountain text -> ``Script``, through screenplain's parser.

This is the one module that imports screenplain: it already handles what breaks naive
readers (boneyard and notes removed, dual dialogue paired, forced headings and cues, cue
extensions kept, emphasis parsed). What it leaves to the app, lyrics ('~' lines, kept as
action or dialogue text), is read here. Emphasis is dropped: canon keeps words, not styles.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any

from screenplain.parsers import fountain
from screenplain.types import Action, Dialog, DualDialog, PageBreak, Section, Slug, Transition

from agents.screenplay.model import Kind, Para, Script

LYRIC_MARK = "~"
# screenplain drops an escaped underscore's backslash and the underscore with it
# ('file\\_name' -> 'file\\name'): it is held as a private-use character meanwhile.
_UNDERSCORE = "\ue000"


def _plain(rich: Any) -> str:
    """A screenplain rich string as its plain words (styles dropped)."""
    return str(rich).replace(_UNDERSCORE, "_").strip() if rich is not None else ""


def _lines(lines: Iterable[Any]) -> list[str]:
    return [_plain(line) for line in lines]


def _runs(lines: list[str], make: Kind) -> Iterator[Para]:
    """Lines of one paragraph as ``make`` paragraphs, each '~' line a lyric of its own."""
    run: list[str] = []
    for line in lines:
        if line.startswith(LYRIC_MARK):
            if run:
                yield Para(make, "\n".join(run))
                run = []
            yield Para(Kind.LYRIC, line[1:].strip())
        else:
            run.append(line)
    if run:
        yield Para(make, "\n".join(run))


def _dialog(dialog: Dialog, dual: bool) -> Iterator[Para]:
    yield Para(Kind.CHARACTER, _plain(dialog.character).lstrip("@").strip(), dual=dual)
    said: list[str] = []
    aside: list[str] = []
    for is_aside, rich in dialog.blocks:
        line = _plain(rich)
        if is_aside:
            if said:
                yield from _runs(said, Kind.DIALOGUE)
                said = []
            aside.append(line)
            if line.endswith(")"):
                yield Para(Kind.PARENTHETICAL, " ".join(aside).strip()[1:-1].strip())
                aside = []
        else:
            said.append(line)
    if aside:  # a '(' never closed: kept as said, not lost
        said = [*aside, *said]
    if said:
        yield from _runs(said, Kind.DIALOGUE)


def _paras(item: Any) -> Iterator[Para]:
    if isinstance(item, Slug):
        yield Para(Kind.HEADING, _plain(item.line), number=_plain(item.scene_number))
        if item.synopsis:
            yield Para(Kind.SYNOPSIS, _plain(item.synopsis))
    elif isinstance(item, Section):
        yield Para(Kind.SECTION, _plain(item.text), level=item.level)
        if item.synopsis:
            yield Para(Kind.SYNOPSIS, _plain(item.synopsis))
    elif isinstance(item, DualDialog):
        yield from _dialog(item.left, False)
        yield from _dialog(item.right, True)
    elif isinstance(item, Dialog):
        yield from _dialog(item, False)
    elif isinstance(item, Action):
        lines = _lines(item.lines)
        if item.centered:
            yield Para(Kind.ACTION, "\n".join(lines), centered=True)
        else:
            yield from _runs(lines, Kind.ACTION)
    elif isinstance(item, Transition):
        yield Para(Kind.TRANSITION, _plain(item.line).lstrip(">").strip())
    elif isinstance(item, PageBreak):
        yield Para(Kind.PAGE_BREAK)


def read_fountain(text: str) -> Script:
    parsed = fountain.parse(io.StringIO(text.replace("\\_", _UNDERSCORE)))
    title_page = {
        str(key): " ".join(_plain(v) for v in values)
        for key, values in (parsed.title_page or {}).items()
    }
    paras = tuple(p for item in parsed for p in _paras(item))
    return Script(title=title_page.get("Title", ""), title_page=title_page, paras=paras)
