"""Fountain, the plain-text screenplay form, as far as the writing desk needs it: scene
headings read from a writer's text, and a scene written out from its parts.

Writing is ours and deterministic, so a draft always parses: a heading is forced with '.'
when it would not read as one, an action line that would read as a heading or a cue is
forced with '!', and a line of dialogue never starts with '(' (that would be a
parenthetical). Reading whole scripts (FDX, dual dialogue, notes) is a separate module.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

INT_EXT = ("INT.", "EXT.", "INT./EXT.")
TIMES = ("DAY", "NIGHT", "DAWN", "DUSK", "MORNING", "EVENING", "CONTINUOUS", "LATER")
# Times a heading may end in, beyond those a draft is offered.
_READ_TIMES = (*TIMES, "SUNSET", "SUNRISE", "NOON", "MIDNIGHT", "AFTERNOON", "SAME", "MOMENTS")
# INT./EXT. in any case; EST. only in capitals ('Est. 1890, the lighthouse' is a sentence).
_HEADING = re.compile(
    r"^\s*(?P<ie>(?i:INT\.?\s*/\s*EXT\.?|I\s*/\s*E\.?|INT\.?|EXT\.?)|EST\.?)\s+(?P<rest>.+?)\s*$"
)
_TIME = re.compile(r"^(?P<place>.+?)\s*(?:[-–—]+|,)\s*(?P<time>[A-Za-z][A-Za-z ']*)$")
_FORCED = re.compile(r"^\.(?=[A-Za-z0-9])(?P<rest>.+)$")
# All capitals with a letter: read as a cue (or, ending in TO:, as a transition).
CUE_LIKE = re.compile(r"^[^a-z]*[A-Z][^a-z]*$")


@dataclass(frozen=True)
class Heading:
    """A scene heading: INT./EXT., the place and the time of day ('' when not given)."""

    int_ext: str
    place: str
    time: str = ""

    @property
    def line(self) -> str:
        """'INT. PLACE - TIME'; a forced heading ('.THE CAR DECK') has no INT./EXT."""
        text = f"{self.int_ext} {self.place.upper()}".strip()
        return f"{text} - {self.time}" if self.time else text


@dataclass(frozen=True)
class Element:
    """One paragraph of a scene: action (``cue`` empty) or a cue's line of dialogue."""

    text: str
    cue: str = ""
    parenthetical: str = ""


def _int_ext(word: str) -> str:
    letters = re.sub(r"[^A-Z/]", "", word.upper())
    if letters in ("INT/EXT", "I/E"):
        return "INT./EXT."
    return "EXT." if letters in ("EXT", "EST") else "INT."


def parse_heading(line: str) -> Heading | None:
    """The heading a line states ('INT. WHEELHOUSE - NIGHT', '.THE CAR DECK'), else None."""
    forced = _FORCED.match(line.strip())
    if forced:
        return Heading("", forced.group("rest").strip())
    m = _HEADING.match(line)
    if not m:
        return None
    rest = m.group("rest").strip()
    timed = _TIME.match(rest)
    if timed and timed.group("time").strip().upper().split()[0] in _READ_TIMES:
        place, time = timed.group("place").strip(" -"), timed.group("time").strip().upper()
    else:
        place, time = rest, ""
    return Heading(_int_ext(m.group("ie")), place.upper(), time)


@dataclass(frozen=True)
class SceneText:
    """A piece of a writer's text under one heading (``None`` before any heading)."""

    heading: Heading | None
    text: str


def split_scenes(text: str) -> list[SceneText]:
    """A text cut at its scene headings; text before the first heading is a scene of its
    own only when it says something."""
    scenes: list[SceneText] = []
    heading: Heading | None = None
    body: list[str] = []

    def close() -> None:
        said = "\n".join(body).strip()
        if heading is not None or said:
            scenes.append(SceneText(heading, said))

    for line in text.splitlines():
        found = parse_heading(line) if line.strip() else None
        if found is not None:
            close()
            heading, body = found, []
        else:
            body.append(line)
    close()
    return scenes


def inert(text: str) -> str:
    """One line with no Fountain markup that spans lines: a boneyard ('/*') or a note
    ('[[') would hide the rest of the draft in a screenwriting app."""
    return " ".join(text.split()).replace("/*", "/ *").replace("[[", "[ [")


def reads_as_markup(line: str) -> bool:
    """Would a reader take this action line for something else: a heading, a cue or a
    transition (all capitals), a lyric, synopsis, section, centred text or forced element?"""
    if parse_heading(line) or CUE_LIKE.match(line):
        return True
    return line.startswith(("@", "~", "=", "#", ">", "[[", "/*", ".", "!"))


def _action(text: str) -> str:
    """An action paragraph that no reader takes for a heading, a cue or a transition."""
    text = inert(text)
    return f"!{text}" if reads_as_markup(text) else text


def leading_aside(line: str) -> tuple[str, str]:
    """('beat', 'I know.') for '(beat) I know.': a line of dialogue that opens with '(...)'
    is read as a parenthetical in Fountain, so writers put it on a line of its own."""
    lead = re.match(r"^\(([^)]*)\)\s*(.*)$", line)
    return (lead.group(1), lead.group(2)) if lead else ("", line)


def _dialogue(text: str, parenthetical: str) -> tuple[str, str]:
    """A line that opens with '(...)' has its own parenthetical: it is moved above it."""
    aside, text = leading_aside(inert(text))
    parenthetical = parenthetical or aside
    line = text.lstrip("(~").lstrip() or "…"  # '~' would make the line a lyric
    return line, inert(parenthetical).strip("()").strip()


def _cue(cue: str) -> str:
    cue = " ".join(cue.upper().split()).rstrip("^ ")  # a trailing '^' means dual dialogue
    return cue if re.search(r"[A-Z]", cue) else f"@{cue}"


def write_scene(heading: Heading, elements: Sequence[Element]) -> str:
    """The scene as Fountain text: heading, then action and dialogue paragraphs."""
    line = heading.line
    out = [line if parse_heading(line) else f".{line}", ""]
    for el in elements:
        if el.cue:
            line, aside = _dialogue(el.text, el.parenthetical)
            out.append(_cue(el.cue))
            if aside:
                out.append(f"({aside})")
            out.append(line)
        else:
            out.append(_action(el.text))
        out.append("")
    return "\n".join(out).rstrip() + "\n"
