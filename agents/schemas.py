"""Structured results: the contracts for loglines, beat sheets and character cards.

The model fills the *generation* part of each (through a JSON-schema grammar); facts the
bible already states (a character's status, the premise, the sources) are filled by code,
so the model cannot get them wrong.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

STRUCTURES: dict[str, tuple[str, ...]] = {
    "save-the-cat": (
        "Opening Image",
        "Theme Stated",
        "Set-Up",
        "Catalyst",
        "Debate",
        "Break into Two",
        "B Story",
        "Fun and Games",
        "Midpoint",
        "Bad Guys Close In",
        "All Is Lost",
        "Dark Night of the Soul",
        "Break into Three",
        "Finale",
        "Final Image",
    ),
    "three-act": (
        "Setup",
        "Inciting Incident",
        "First Plot Point",
        "Rising Action",
        "Midpoint",
        "Crisis",
        "Climax",
        "Resolution",
    ),
    "tv-four-act": ("Cold Open", "Act One", "Act Two", "Act Three", "Act Four", "Tag"),
    "tv-five-act": (
        "Cold Open",
        "Act One",
        "Act Two",
        "Act Three",
        "Act Four",
        "Act Five",
        "Tag",
    ),
}
STRUCTURE_LABELS = {
    "save-the-cat": "Save the Cat (15 beats)",
    "three-act": "three-act",
    "tv-four-act": "TV four-act (cold open, four acts, tag; A/B/C story lines)",
    "tv-five-act": "TV five-act (cold open, five acts, tag; A/B/C story lines)",
}
TV_STRUCTURES = frozenset({"tv-four-act", "tv-five-act"})


class Citation(BaseModel):
    file: str
    heading: str

    @property
    def label(self) -> str:
        return f"[{self.file} > {self.heading}]"


class Answer(BaseModel):
    """A free-form answer as the writer gets it, with what it was checked against.

    ``mode`` says how it was made: ``extract`` (the bible's own sentences), ``generate`` (the
    model's text, verified) or ``floor`` (the model's text failed verification, so the
    bible's sentences stand in for it)."""

    text: str
    citations: list[Citation] = Field(default_factory=list)
    retrieved: list[Citation] = Field(default_factory=list)
    mode: Literal["extract", "generate", "floor"]
    canon_found: bool = True
    removed: list[str] = Field(default_factory=list)


def _nonblank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


class Logline(BaseModel):
    protagonist: str
    goal: str
    obstacle: str
    hook: str
    logline: str

    _strip = field_validator("protagonist", "goal", "obstacle", "hook", "logline")(_nonblank)


class LoglineSet(BaseModel):
    premise: str
    loglines: list[Logline] = Field(min_length=1)
    sources: list[Citation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct(self) -> LoglineSet:
        seen = {
            tuple(" ".join(v.lower().split()) for v in item.model_dump().values())
            for item in self.loglines
        }
        if len(seen) != len(self.loglines):
            raise ValueError("loglines must be distinct")
        return self


class Beat(BaseModel):
    name: str
    what_happens: str
    characters: list[str] = Field(default_factory=list)
    story_line: Literal["A", "B", "C"] | None = None
    sources: list[Citation] = Field(default_factory=list)

    _strip = field_validator("what_happens")(_nonblank)


class BeatSheet(BaseModel):
    premise: str
    structure: str
    beats: list[Beat]
    sources: list[Citation] = Field(default_factory=list)
    continuity: list[str] = Field(default_factory=list)  # deterministic flags, one line each

    @model_validator(mode="after")
    def _matches_structure(self) -> BeatSheet:
        expected = STRUCTURES.get(self.structure)
        if expected is None:
            raise ValueError(f"unknown structure {self.structure}")
        if tuple(b.name for b in self.beats) != expected:
            raise ValueError(f"beats must be exactly: {', '.join(expected)}")
        return self


class CharacterCard(BaseModel):
    found: Literal[True] = True  # as opposed to NoSuchCharacter, in `ask --json`
    name: str
    aliases: list[str] = Field(default_factory=list)
    status: str | None = None
    first_episode: int | None = None
    last_episode: int | None = None
    summary: str
    wants: str
    arc: str
    voice: str
    sources: list[Citation] = Field(default_factory=list)

    _strip = field_validator("summary", "wants", "arc", "voice")(_nonblank)


SYNOPSIS_LENGTHS: dict[str, tuple[int, int]] = {  # sentences: (at least, at most)
    "logline": (1, 1),
    "paragraph": (3, 5),
    "page": (8, 12),
}


class PitchCredit(BaseModel):
    """A ledger pitch a synopsis sentence uses, with the author the ledger recorded."""

    number: int
    author: str


class SynopsisSentence(BaseModel):
    text: str
    sources: list[Citation] = Field(default_factory=list)
    pitches: list[PitchCredit] = Field(default_factory=list)
    # Copied word for word from the bible, a pitch or the writer's text (where too little
    # of what the model wrote survived the checks), rather than written by the model.
    quoted: bool = False

    _strip = field_validator("text")(_nonblank)


class Credit(BaseModel):
    """A writer whose pitches a thread synopsis uses, by the name the ledger recorded."""

    author: str
    pitches: list[int]


class Synopsis(BaseModel):
    """The model writes only the sentences; which sections and pitches each one cites, who
    is credited, and the continuity flags are filled in by code."""

    target: str
    # Not 'kind': `ask --json` prints the reply's kind ('synopsis') beside these fields.
    target_kind: Literal["episode", "arc", "thread", "text"]
    length: Literal["logline", "paragraph", "page"]
    sentences: list[SynopsisSentence] = Field(min_length=1)
    sources: list[Citation] = Field(default_factory=list)
    credits: list[Credit] = Field(default_factory=list)
    continuity: list[str] = Field(default_factory=list)  # deterministic flags, one line each

    @model_validator(mode="after")
    def _fits_length(self) -> Synopsis:
        most = SYNOPSIS_LENGTHS[self.length][1]
        if len(self.sentences) > most:
            raise ValueError(f"a {self.length} has at most {most} sentences")
        return self


# ---- generation schemas (what the grammar lets the model write) ---------------------------
def _text(max_chars: int) -> dict[str, Any]:
    """A one-line string that starts with a visible character (no blank answers)."""
    return {
        "type": "string",
        "pattern": f'^[^ \\t\\n"\\\\][^"\\\\\\n]{{0,{max_chars - 1}}}$',
        "maxLength": max_chars,
    }


def one_line(max_chars: int) -> dict[str, Any]:
    """A one-line string that starts with a visible character, for the desk's commands."""
    return _text(max_chars)


def optional_line(max_chars: int) -> dict[str, Any]:
    """The same, or empty: a field the result may leave out (a shot's sound or notes)."""
    return {
        "type": "string",
        "pattern": f'^([^ \\t\\n"\\\\][^"\\\\\\n]{{0,{max_chars - 1}}})?$',
    }


def logline_schema(n: int, max_chars: int) -> dict[str, Any]:
    item = {
        "type": "object",
        "properties": {
            k: _text(max_chars) for k in ("protagonist", "goal", "obstacle", "hook", "logline")
        },
        "required": ["protagonist", "goal", "obstacle", "hook", "logline"],
    }
    return {
        "type": "object",
        "properties": {"loglines": {"type": "array", "items": item, "minItems": n, "maxItems": n}},
        "required": ["loglines"],
    }


def beats_schema(
    structure: str, characters: list[str], source_labels: list[str], max_chars: int
) -> dict[str, Any]:
    """One object per beat, in order, with the beat's name fixed by the grammar."""
    tv = structure in TV_STRUCTURES
    items = []
    for name in STRUCTURES[structure]:
        props: dict[str, Any] = {"name": {"const": name}}
        if tv:
            props["story_line"] = {"enum": ["A", "B", "C"]}
        props["what_happens"] = _text(max_chars)
        props["characters"] = (
            {"type": "array", "items": {"enum": characters}, "maxItems": 3}
            if characters
            else {"type": "array", "items": {"type": "string"}, "maxItems": 0}
        )
        props["sources"] = (
            {"type": "array", "items": {"enum": source_labels}, "maxItems": 2}
            if source_labels
            else {"type": "array", "items": {"type": "string"}, "maxItems": 0}
        )
        items.append({"type": "object", "properties": props, "required": list(props)})
    return {
        "type": "object",
        "properties": {"beats": {"type": "array", "prefixItems": items}},
        "required": ["beats"],
    }


def character_schema(max_chars: int) -> dict[str, Any]:
    fields = ("summary", "wants", "arc", "voice")
    return {
        "type": "object",
        "properties": {k: _text(max_chars) for k in fields},
        "required": list(fields),
    }


# ---- brainstorms ------------------------------------------------------------------------
class Provocation(BaseModel):
    text: str
    sources: list[Citation] = Field(default_factory=list)

    _strip = field_validator("text")(_nonblank)


class BrainstormOpening(BaseModel):
    topic: str
    canon: list[Citation] = Field(default_factory=list)
    canon_found: bool
    provocations: list[Provocation] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> BrainstormOpening:
        texts = {" ".join(p.text.lower().split()) for p in self.provocations}
        if len(texts) != len(self.provocations):
            raise ValueError("provocations must be distinct")
        return self


class Attributed(BaseModel):
    """Something a writer said, kept with who said it."""

    author: str
    text: str


class PitchResult(BaseModel):
    number: int
    author: str
    text: str
    votes: int
    voters: list[str] = Field(default_factory=list)
    continuity: list[str] = Field(default_factory=list)  # flags found when it was pitched


class Summary(BaseModel):
    summary: str

    _strip = field_validator("summary")(_nonblank)


class WrapUp(BaseModel):
    """Decisions and open questions are what the room marked, never invented by the model;
    pitches and votes come from the ledger. Only the summary is the model's."""

    topic: str
    summary: str
    decisions: list[Attributed] = Field(default_factory=list)
    top_pitches: list[PitchResult] = Field(default_factory=list)
    open_questions: list[Attributed] = Field(default_factory=list)
    beat_sheet: BeatSheet | None = None
    flagged_pitches: list[str] = Field(default_factory=list)  # '#N (author): flag' lines
    wrap: int | None = None  # the wrap-up's number in the ledger, once saved

    _strip = field_validator("summary")(_nonblank)


def provocations_schema(n: int, source_labels: list[str], max_chars: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "object",
        "properties": {
            "text": _text(max_chars),
            "sources": (
                {"type": "array", "items": {"enum": source_labels}, "minItems": 1, "maxItems": 2}
                if source_labels
                else {"type": "array", "items": {"type": "string"}, "maxItems": 0}
            ),
        },
        "required": ["text", "sources"],
    }
    return {
        "type": "object",
        "properties": {
            "provocations": {"type": "array", "items": item, "minItems": n, "maxItems": n}
        },
        "required": ["provocations"],
    }


def summary_schema(max_chars: int) -> dict[str, Any]:
    return {"type": "object", "properties": {"summary": _text(max_chars)}, "required": ["summary"]}


def synopsis_schema(
    least: int, most: int, labels: list[str], max_chars: int, cite_least: int
) -> dict[str, Any]:
    """Sentences, each citing labels of what the model was shown (S1.. canon, P1.. pitches);
    ``cite_least`` 1 makes every sentence cite something."""
    sources: dict[str, Any] = (
        {"type": "array", "items": {"enum": labels}, "minItems": cite_least, "maxItems": 2}
        if labels
        else {"type": "array", "items": {"type": "string"}, "maxItems": 0}
    )
    item = {
        "type": "object",
        "properties": {"text": _text(max_chars), "sources": sources},
        "required": ["text", "sources"],
    }
    return {
        "type": "object",
        "properties": {
            "sentences": {"type": "array", "items": item, "minItems": least, "maxItems": most}
        },
        "required": ["sentences"],
    }
