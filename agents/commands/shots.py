"""`shots [SCENE]`: a shot list (the storyboard script) for a scene.

The scene is the last one `scene` drafted in this thread, an episode's section
('S1E04 Aftermath'), or pasted text (cut at its scene headings). The model chooses each
shot's size, angle and movement from the industry's fixed sets under a JSON schema; code
numbers the shots (1A, 1B…) and takes INT/EXT, place and time from the scene's heading
where there is one, so those never disagree with the scene.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from agents import render
from agents.canon import citation
from agents.commands.registry import register
from agents.commands.scene import last_scene
from agents.commands.spec import Call, CommandSpec, Param
from agents.desk import SECTION_WORDS, check_fits, file_slug, find_episode
from agents.errors import BadRequest
from agents.fountain import INT_EXT, TIMES, Heading, split_scenes
from agents.llm.base import StructuredRequest
from agents.messages import Attachment, Reply, Table
from agents.schemas import Citation, one_line, optional_line
from agents.spreadsheet import csv_bytes
from agents.spreadsheet import spreadsheet_safe as spreadsheet_safe  # its callers' old home

SHOTS = (3, 8)  # fewest and most shots in a list
MAX_SCENES = 3
MIN_WORDS = 8
TEXT_CHARS = 100
NOTE_CHARS = 60  # sound and notes: a few words each


class ShotSize(StrEnum):
    ECU = "ECU"
    CU = "CU"
    MCU = "MCU"
    MS = "MS"
    MWS = "MWS"
    WS = "WS"
    EWS = "EWS"


class Angle(StrEnum):
    EYE_LEVEL = "eye level"
    HIGH = "high"
    LOW = "low"
    OVERHEAD = "overhead"
    DUTCH = "Dutch"


class Movement(StrEnum):
    STATIC = "static"
    PAN = "pan"
    TILT = "tilt"
    DOLLY = "dolly"
    TRACKING = "tracking"
    HANDHELD = "handheld"
    CRANE = "crane"
    STEADICAM = "Steadicam"


class Shot(BaseModel):
    scene: int = Field(ge=1)
    shot: str = Field(pattern=r"^\d+[A-Z]{1,2}$")
    size: ShotSize
    angle: Angle
    movement: Movement
    lens: str | None = None
    description: str = Field(min_length=1)
    cast: list[str] = Field(default_factory=list)
    int_ext: Literal["INT.", "EXT.", "INT./EXT."]
    location: str
    time: str
    sound: str = ""
    notes: str = ""


class ShotList(BaseModel):
    source: str  # what was broken down, in the writer's words
    scenes: list[str] = Field(min_length=1)  # each scene's heading, by scene number
    shots: list[Shot] = Field(min_length=1)
    sources: list[Citation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _numbered(self) -> ShotList:
        ids = [s.shot for s in self.shots]
        if len(set(ids)) != len(ids):
            raise ValueError("shot numbers must be distinct")
        if any(s.scene > len(self.scenes) for s in self.shots):
            raise ValueError("a shot names a scene the list does not have")
        return self


COLUMNS = (
    "Scene",
    "Shot",
    "Size",
    "Angle",
    "Movement",
    "Lens",
    "What we see",
    "Cast",
    "INT/EXT",
    "Location",
    "Time",
    "Sound",
    "Notes",
)

SHOWN = ("Shot", "Size", "Angle", "Movement", "Lens", "What we see", "Cast")


def rows(shots: ShotList) -> list[list[str]]:
    return [
        [
            str(s.scene),
            s.shot,
            s.size.value,
            s.angle.value,
            s.movement.value,
            s.lens or "",
            s.description,
            ", ".join(s.cast),
            s.int_ext,
            s.location,
            s.time,
            s.sound,
            s.notes,
        ]
        for s in shots.shots
    ]


def as_csv(shots: ShotList) -> bytes:
    """The list as a spreadsheet opens it: a header row, one row per shot."""
    return csv_bytes(COLUMNS, rows(shots))


CELL_CHARS = 48  # a chat's copy of a cell; the CSV has it whole


def shot_table(shots: ShotList) -> Table:
    """The table a chat shows: the columns a reader scans (the CSV has all thirteen)."""
    shown = [COLUMNS.index(c) for c in SHOWN]
    return Table(
        title=f"Shot list for: {shots.source}",
        columns=list(SHOWN),
        rows=[[row[i] for i in shown] for row in rows(shots)],
    )


def _tail(shots: ShotList, file_name: str, attached: bool = False) -> list[str]:
    lines = []
    if len(shots.scenes) > 1:
        lines.append("Scenes: " + "; ".join(f"{n}. {h}" for n, h in enumerate(shots.scenes, 1)))
    where = f"the CSV is attached as {file_name}" if attached else f"every column is in {file_name}"
    lines.append(f"{len(shots.shots)} shots; {where}.")
    if shots.sources:
        lines.append(render.sources_line(shots.sources))
    return lines


def shots_text(shots: ShotList, file_name: str) -> str:
    return "\n".join([render.table(shot_table(shots), CELL_CHARS), *_tail(shots, file_name)])


def shots_brief(shots: ShotList, file_name: str) -> str:
    """What shows above a table block or a terminal table: the title and the tail."""
    title = f"{render.bold('Shot list')} for: {shots.source}"
    return "\n".join([title, *_tail(shots, file_name, attached=True)])


# ---- where the scene comes from ---------------------------------------------------------
class Source(BaseModel):
    """The scene(s) to break down, as text, with what code knows of each heading."""

    label: str
    text: str
    headings: list[Heading | None]
    cast: list[str]
    sources: list[Citation] = Field(default_factory=list)
    pasted: bool = False  # the writer's own text (which they can cut), not the bible's


NO_SCENE = (
    "There is no scene in this thread to break into shots. Draft one with "
    "{prefix}scene PREMISE, paste the scene after {prefix}shots, or name an episode's "
    "section ({prefix}shots S1E04 Aftermath). Nothing was saved."
)


def _from_thread(call: Call) -> Source:
    draft = last_scene(call, NO_SCENE)
    return Source(
        label=draft.label,
        text=draft.fountain,
        headings=[draft.heading],
        cast=[*draft.cast, *draft.new_characters],
    )


def _characters(call: Call, text: str) -> list[str]:
    named = call.services.bible.named_in(call.show, text, call.as_of)
    return [e.name for e in named if e.type == "character"]


def _from_episode(call: Call, words: list[str]) -> Source | None:
    found = find_episode(call.services, call.show, words, call.as_of)
    if found is None:
        return None
    entity, sections, used = found
    if not sections:
        raise BadRequest(f"{entity.name} has nothing this room may read yet. Nothing was saved.")
    wanted = " ".join(words[used:]).strip().lower()
    tail = {c.heading.split(">")[-1].strip().lower(): c for c in sections}
    chunk = sections[0] if not wanted else tail.get(wanted)
    if chunk is None and len(words) - used > SECTION_WORDS:
        return None  # '104 passengers wait on the quay…': a pasted scene that starts with a number
    if chunk is None:
        names = ", ".join(c.heading.split(">")[-1].strip() for c in sections)
        raise BadRequest(
            f"{entity.name} has no section '{' '.join(words[used:])}'. Its sections: {names}. "
            "Nothing was saved."
        )
    return Source(
        label=f"{entity.name}, {chunk.heading.split('>')[-1].strip()}",
        text=chunk.text,
        headings=[None],
        cast=_characters(call, chunk.text),
        sources=[citation(chunk)],
    )


def _pasted(call: Call, text: str) -> Source:
    if len(text.split()) < MIN_WORDS:
        raise BadRequest(
            f"'{text}' is not a scene or an episode this bible knows. Paste the scene (a "
            f"heading, action and dialogue), or name an episode's section: "
            f"{call.event.prefix}shots S1E04 Aftermath. Nothing was saved."
        )
    scenes = split_scenes(text)
    if len(scenes) > MAX_SCENES:
        raise BadRequest(
            f"That text has {len(scenes)} scenes; a shot list takes at most {MAX_SCENES} at a "
            "time. Send them in parts. Nothing was saved."
        )
    return Source(
        label="the pasted scene" if len(scenes) == 1 else f"the {len(scenes)} pasted scenes",
        text=text,
        headings=[s.heading for s in scenes],
        cast=_characters(call, text),
        pasted=True,
    )


def source_of(call: Call) -> Source:
    said = (call.arg("scene") or "").strip()
    if not said:
        return _from_thread(call)
    return _from_episode(call, said.split()) or _pasted(call, said)


# ---- the model's part -------------------------------------------------------------------
def shots_schema(source: Source, chars: int) -> dict[str, Any]:
    optional = optional_line(NOTE_CHARS)
    props: dict[str, Any] = {}
    if len(source.headings) > 1:
        props["scene"] = {"enum": list(range(1, len(source.headings) + 1))}
    props |= {
        "size": {"enum": [s.value for s in ShotSize]},
        "angle": {"enum": [a.value for a in Angle]},
        "movement": {"enum": [m.value for m in Movement]},
        # Free and short ('35mm', 'f/2.8 85mm'): lenses are named too many ways for an enum.
        "lens": {"type": "string", "pattern": "^([0-9A-Za-z][0-9A-Za-z ./-]{0,11})?$"},
        "description": one_line(chars),
        "cast": (
            {"type": "array", "items": {"enum": source.cast}, "maxItems": 4}
            if source.cast
            else {"type": "array", "items": {"type": "string"}, "maxItems": 0}
        ),
        "sound": optional,
        "notes": optional,
    }
    if any(h is None or not h.int_ext or not h.time for h in source.headings):
        props |= {
            "int_ext": {"enum": list(INT_EXT)},
            "location": one_line(40),
            "time": {"enum": list(TIMES[:6])},
        }
    item = {"type": "object", "properties": props, "required": list(props)}
    low, high = SHOTS
    return {
        "type": "object",
        "properties": {
            "shots": {"type": "array", "items": item, "minItems": low, "maxItems": high}
        },
        "required": ["shots"],
    }


def build_list(source: Source, data: dict[str, Any]) -> ShotList:
    """Shots numbered by scene in the model's order (1A, 1B, 2A…); heading facts from the
    scene where it states them, else the model's."""
    letters: dict[int, int] = {}
    shots: list[Shot] = []
    for raw in data["shots"]:
        scene = int(raw.get("scene", 1))
        heading = source.headings[scene - 1]
        index = letters[scene] = letters.get(scene, 0) + 1
        letter = chr(ord("A") + index - 1) if index <= 26 else "Z" + chr(ord("A") + index - 27)
        shots.append(
            Shot(
                scene=scene,
                shot=f"{scene}{letter}",
                size=raw["size"],
                angle=raw["angle"],
                movement=raw["movement"],
                lens=raw["lens"] or None,
                description=raw["description"],
                cast=list(dict.fromkeys(raw["cast"])),
                int_ext=(heading.int_ext if heading and heading.int_ext else raw["int_ext"]),
                location=heading.place if heading else raw["location"].upper(),
                time=(heading.time if heading and heading.time else raw["time"]),
                sound=raw["sound"],
                notes=raw["notes"],
            )
        )
    shots.sort(key=lambda s: s.scene)
    scenes = [h.line if h else source.label for h in source.headings]
    return ShotList(source=source.label, scenes=scenes, shots=shots, sources=source.sources)


async def run(call: Call) -> Reply:
    services = call.services
    source = source_of(call)
    n = len(source.headings)
    prompt = services.prompts.render(
        "shots",
        show=call.show,
        scenes_note=(f"It has {n} scenes, numbered 1 to {n} in order." if n > 1 else ""),
        cast=", ".join(source.cast) or "(none named)",
        scene="\n".join(f"> {line}" if line else ">" for line in source.text.splitlines()),
    )
    chars = min(TEXT_CHARS, services.config.max_field_chars)
    # Per shot: the description, sound and notes (each bounded by characters, so by tokens),
    # the lens, and the enums and JSON around them.
    per_shot = (chars + 12) + 2 * (NOTE_CHARS + 12) + 60
    max_tokens = SHOTS[1] * per_shot + 40
    check_fits(services, prompt, max_tokens, source.text, "The scene", source.pasted)
    shots = await services.produce(
        StructuredRequest(
            what="shot list",
            messages=({"role": "user", "content": prompt},),
            schema=shots_schema(source, chars),
            build=lambda data: build_list(source, data),
            lane=call.event.lane,
            max_tokens=max_tokens,
            temperature=services.config.structured_temperature,
        )
    )
    name = f"shots-{file_slug(source.label, 'scene')}.csv"
    table = shot_table(shots)
    return Reply(
        kind="shots",
        text=shots_text(shots, name),
        result=shots,
        citations=shots.sources,
        files=[Attachment(name=name, mime="text/csv", data=as_csv(shots), title=table.title)],
        table=table,
        brief=shots_brief(shots, name),
    )


SPEC = register(
    CommandSpec(
        "shots",
        "Break a scene into a shot list (size, angle, movement, lens, cast), with a CSV.",
        (
            Param(
                "scene",
                "Empty for the thread's last drafted scene; an episode's section "
                "(S1E04 Aftermath); or the scene's text.",
                required=False,
                rest=True,
                reads_file=True,
            ),
        ),
        ("shots", "shots S1E04 Aftermath", "shots S1E03 Clues"),
        handler=run,
        result=ShotList,
        prompt="shots",
        slow=True,
        records=True,
    )
)
