"""What the room made, as a Script the Fountain, Final Draft and Markdown writers take.

Each converter only arranges what the stored result holds: a beat sheet's acts become
sections and its beats synopses, a wrap-up's parts sections, a scene draft a real scene
(heading, action, cues, parentheticals, dialogue), a shot list its scene headings with a
line of action per shot. Nothing is written here that the result does not say.
"""

from __future__ import annotations

from collections.abc import Iterator

from agents.commands.scene import SceneDraft
from agents.commands.shots import Shot, ShotList
from agents.schemas import STRUCTURE_LABELS, STRUCTURES, TV_STRUCTURES, Beat, BeatSheet, WrapUp
from agents.screenplay.model import Kind, Para, Script
from agents.spreadsheet import csv_bytes

# The acts each feature structure's beats fall in (Snyder's Save the Cat beat sheet, and the
# common three-act paradigm, where the first plot point ends act one and the crisis act two).
# A TV structure's beats are its acts already; a structure missing here gets a section a beat.
ACTS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "save-the-cat": (
        ("Act One", STRUCTURES["save-the-cat"][:5]),
        ("Act Two", STRUCTURES["save-the-cat"][5:12]),
        ("Act Three", STRUCTURES["save-the-cat"][12:]),
    ),
    "three-act": (
        ("Act One", STRUCTURES["three-act"][:3]),
        ("Act Two", STRUCTURES["three-act"][3:6]),
        ("Act Three", STRUCTURES["three-act"][6:]),
    ),
}
BEAT_COLUMNS = ("#", "Act", "Beat", "Story line", "What happens", "Characters", "Sources")


def acts(sheet: BeatSheet) -> list[tuple[str, list[Beat]]]:
    """The sheet's beats by act, in order: (act, its beats)."""
    if sheet.structure in ACTS:
        by_name = {b.name: b for b in sheet.beats}
        return [(act, [by_name[n] for n in names]) for act, names in ACTS[sheet.structure]]
    return [(beat.name, [beat]) for beat in sheet.beats]


def beat_line(sheet: BeatSheet, beat: Beat) -> str:
    """A beat as one synopsis line: its name (a TV act's name is its section already), its
    story line, what happens, and who is in it."""
    said = beat.what_happens
    if beat.story_line:
        said = f"{beat.story_line} story: {said}"
    if sheet.structure not in TV_STRUCTURES:
        said = f"{beat.name}: {said}"
    return f"{said} ({', '.join(beat.characters)})" if beat.characters else said


def beat_paras(sheet: BeatSheet, level: int = 1) -> Iterator[Para]:
    for act, beats in acts(sheet):
        yield Para(Kind.SECTION, act, level=level)
        yield from (Para(Kind.SYNOPSIS, beat_line(sheet, b)) for b in beats)


def beats_script(sheet: BeatSheet) -> Script:
    label = STRUCTURE_LABELS.get(sheet.structure, sheet.structure)
    return Script(
        title=sheet.premise,
        title_page={"Notes": f"Beat sheet, {label}"},
        paras=tuple(beat_paras(sheet)),
    )


def beats_csv(sheet: BeatSheet) -> bytes:
    """One row per beat, in order, with the act it falls in."""
    rows = [
        [
            str(n),
            act,
            beat.name,
            beat.story_line or "",
            beat.what_happens,
            ", ".join(beat.characters),
            " ".join(c.label for c in beat.sources),
        ]
        for n, (act, beat) in enumerate(((a, b) for a, bs in acts(sheet) for b in bs), 1)
    ]
    return csv_bytes(BEAT_COLUMNS, rows)


def _section(title: str, lines: list[str]) -> list[Para]:
    """A section with a synopsis per line; none at all where the result has no lines."""
    if not lines:
        return []
    return [Para(Kind.SECTION, title, level=1), *(Para(Kind.SYNOPSIS, x) for x in lines)]


def wrap_script(wrap: WrapUp) -> Script:
    votes = {1: "1 vote"}
    paras = [
        *_section("Summary", [wrap.summary]),
        *_section("Decisions", [f"{d.text} ({d.author})" for d in wrap.decisions]),
        *_section(
            "Top pitches",
            [
                f"#{p.number} {p.author}: {p.text} ({votes.get(p.votes, f'{p.votes} votes')})"
                for p in wrap.top_pitches
            ],
        ),
        *_section("Open questions", [f"{q.text} ({q.author})" for q in wrap.open_questions]),
        *_section("Pitches with continuity flags", wrap.flagged_pitches),
    ]
    if wrap.beat_sheet is not None:
        sheet = wrap.beat_sheet
        label = STRUCTURE_LABELS.get(sheet.structure, sheet.structure)
        paras += [Para(Kind.SECTION, f"Beat sheet, {label}", level=1), *beat_paras(sheet, 2)]
    note = f"Wrap-up #{wrap.wrap} of the brainstorm" if wrap.wrap else "Wrap-up of the brainstorm"
    return Script(title=wrap.topic, title_page={"Notes": note}, paras=tuple(paras))


def scene_script(draft: SceneDraft) -> Script:
    """The draft as a scene: heading, opening action, each line under its cue."""
    paras = [Para(Kind.HEADING, draft.heading.line), Para(Kind.ACTION, draft.opening)]
    for item in draft.lines:
        paras.append(Para(Kind.CHARACTER, item.cue))
        if item.parenthetical.strip():
            paras.append(Para(Kind.PARENTHETICAL, item.parenthetical))
        paras.append(Para(Kind.DIALOGUE, item.line))
        if item.action_after.strip():
            paras.append(Para(Kind.ACTION, item.action_after))
    return Script(paras=tuple(paras))


def shot_line(shot: Shot) -> str:
    """'1A: WS, eye level, static, 35mm — what we see — Cast: … — Sound: … — Notes: …'"""
    frame = ", ".join(
        x for x in (shot.size.value, shot.angle.value, shot.movement.value, shot.lens) if x
    )
    parts = [f"{shot.shot}: {frame}", shot.description]
    if shot.cast:
        parts.append(f"Cast: {', '.join(shot.cast)}")
    parts += [
        f"{name}: {text}" for name, text in (("Sound", shot.sound), ("Notes", shot.notes)) if text
    ]
    return " — ".join(parts)


def shots_script(shots: ShotList) -> Script:
    """Each scene's heading, then its shots in order, a line of action each."""
    paras: list[Para] = []
    for number, heading in enumerate(shots.scenes, 1):
        paras.append(Para(Kind.HEADING, heading, number=str(number)))
        paras += [Para(Kind.ACTION, shot_line(s)) for s in shots.shots if s.scene == number]
    return Script(title=f"Shot list: {shots.source}", paras=tuple(paras))
