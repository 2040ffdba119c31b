"""`arc EPISODE|TEXT [characters]`: the emotional arc of an episode or a writer's scenes.

Code splits the story into beats, so their names are the story's own: an episode's summary
sections in order, sentence by sentence ('Summary 1', 'Summary 2', 'Aftermath 1'); pasted
scenes by their headings; other pasted text by its sentences (named by their first words).
The model gives, under a JSON schema with one entry per beat (its name fixed), a valence
from a fixed ladder of steps (-1 to 1), the dominant emotion from a fixed set and the
characters in it (the bible's names only). With `characters`, it also rates each character
in the beat, drawn as one line per character. The chart is a PNG (see agents.arc_chart) and
a text chart in the reply.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from agents import arc_chart, render
from agents.canon import citation
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.desk import check_fits, episode_list, file_slug, find_episode
from agents.errors import BadRequest
from agents.fountain import split_scenes
from agents.llm.base import StructuredRequest
from agents.messages import Attachment, Reply
from agents.schemas import Citation
from agents.text import sentences

EMOTIONS = ("joy", "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation")
Emotion = Literal["joy", "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation"]
# The valence ladder the grammar offers, as strings (safest in a GBNF enum); code reads them.
STEPS = ("-1", "-0.75", "-0.5", "-0.25", "0", "0.25", "0.5", "0.75", "1")
MAX_BEATS = 16
MIN_WORDS = 6  # pasted text shorter than this is taken for a mistyped episode
NAME_WORDS = 4  # a sentence beat is named by its first words
MAX_CAST = 12
PER_BEAT = 3  # characters the model may name in one beat
CHARACTERS_FLAG = "characters"


class ArcBeat(BaseModel):
    name: str
    text: str  # what the beat is, as the episode or the writer put it
    valence: float = Field(ge=-1, le=1)
    emotion: Emotion
    characters: list[str] = Field(default_factory=list)
    # With `characters`: how the beat feels for each character the model rated in it.
    character_valence: dict[str, float] = Field(default_factory=dict)


class EmotionalArc(BaseModel):
    target: str
    target_kind: Literal["episode", "text"]
    beats: list[ArcBeat] = Field(min_length=1)
    characters: list[str] = Field(default_factory=list)  # the per-character lines drawn
    sources: list[Citation] = Field(default_factory=list)

    def line(self, name: str) -> list[float | None]:
        """A character's valence beat by beat (None where they were not rated)."""
        return [b.character_valence.get(name) for b in self.beats]


class Material(BaseModel):
    """What code read: the beats by name and text, who may be in them, and the sources."""

    target: str
    target_kind: Literal["episode", "text"]
    names: list[str]
    texts: list[str]
    cast: list[str]
    sources: list[Citation] = Field(default_factory=list)
    pasted: bool = False


def _flat(text: str) -> str:
    return " ".join(text.split())


def _distinct(names: list[str]) -> list[str]:
    """Names as given; a repeated one gets its ordinal ('INT. QUAY - NIGHT (2)')."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _first_words(sentence: str) -> str:
    words = sentence.split()
    head = " ".join(words[:NAME_WORDS]).rstrip(".,;:!?")
    return head + ("…" if len(words) > NAME_WORDS else "")


def _cast(call: Call, text: str) -> list[str]:
    bible = call.services.bible
    named = [e.name for e in bible.named_in(call.show, text, call.as_of) if e.type == "character"]
    if not named:
        named = [e.name for e in bible.entities(call.show, "character", call.as_of)]
    return named[:MAX_CAST]


def _too_many(n: int, what: str) -> BadRequest:
    return BadRequest(
        f"{what} has {n} beats; an arc chart takes at most {MAX_BEATS}. Send it in parts. "
        "Nothing was saved."
    )


def _from_episode(call: Call, words: list[str]) -> Material | None:
    found = find_episode(call.services, call.show, words, call.as_of)
    if found is None or found[2] != len(words):
        return None  # not an episode, or an episode code that starts a pasted text
    entity, sections, _ = found
    if not sections:
        raise BadRequest(f"{entity.name} has nothing this room may read yet. Nothing was saved.")
    names: list[str] = []
    texts: list[str] = []
    for chunk in sections:
        heading = chunk.heading.split(">")[-1].strip()
        said = sentences(_flat(chunk.text)) or [_flat(chunk.text)]
        if len(said) == 1:
            names.append(heading)
        else:
            names += [f"{heading} {i}" for i in range(1, len(said) + 1)]
        texts += said
    if len(names) > MAX_BEATS:  # long sections: one beat per section
        names = [c.heading.split(">")[-1].strip() for c in sections]
        texts = [_flat(c.text) for c in sections]
    if len(names) > MAX_BEATS:
        raise _too_many(len(names), entity.name)
    title = sections[0].heading.split(">")[0].strip() or entity.name
    return Material(
        target=title,
        target_kind="episode",
        names=_distinct(names),
        texts=texts,
        cast=_cast(call, " ".join(texts)),
        sources=[citation(c) for c in sections],
    )


def _from_text(call: Call, text: str) -> Material:
    if len(text.split()) < MIN_WORDS:
        raise BadRequest(
            f"'{text}' is not an episode this bible knows, nor a story to chart. Name an "
            f"episode ({episode_list(call.services, call.show, call.as_of)}) or paste the "
            f"scenes: {call.event.prefix}arc S1E04. Nothing was saved."
        )
    scenes = split_scenes(text)
    if any(s.heading is not None for s in scenes):
        names = [s.heading.line if s.heading else "Opening" for s in scenes]
        texts = [_flat(s.text) or "(no action)" for s in scenes]
        label = "the pasted scene" if len(scenes) == 1 else f"the {len(scenes)} pasted scenes"
    else:
        texts = sentences(_flat(text))
        names = [_first_words(s) for s in texts]
        label = "the pasted text"
    if len(names) > MAX_BEATS:
        raise _too_many(len(names), label.capitalize())
    return Material(
        target=label,
        target_kind="text",
        names=_distinct(names),
        texts=texts,
        cast=_cast(call, text),
        pasted=True,
    )


def read_target(call: Call) -> tuple[Material, bool]:
    """The beats to chart, and whether one line per character was asked for."""
    said = (call.arg("target") or "").strip()
    words = said.split()
    per_character = len(words) > 1 and words[-1].lower() == CHARACTERS_FLAG
    if per_character:
        said = said[: said.lower().rindex(CHARACTERS_FLAG)].strip()
        words = words[:-1]
    if not said:
        raise BadRequest(
            f"'arc' needs an episode or a text: {call.event.prefix}arc S1E04. Nothing was saved."
        )
    material = _from_episode(call, words) or _from_text(call, said)
    return material, per_character


# ---- the model's part -------------------------------------------------------------------
def arc_schema(material: Material, per_character: bool) -> dict[str, Any]:
    valence = {"enum": list(STEPS)}
    if not material.cast:
        people: dict[str, Any] = {"type": "array", "items": {"type": "string"}, "maxItems": 0}
    elif per_character:
        person = {
            "type": "object",
            "properties": {"name": {"enum": material.cast}, "valence": valence},
            "required": ["name", "valence"],
        }
        people = {"type": "array", "items": person, "maxItems": PER_BEAT}
    else:
        people = {"type": "array", "items": {"enum": material.cast}, "maxItems": PER_BEAT}
    items = [
        {
            "type": "object",
            "properties": {
                "name": {"const": name},
                "valence": valence,
                "emotion": {"enum": list(EMOTIONS)},
                "characters": people,
            },
            "required": ["name", "valence", "emotion", "characters"],
        }
        for name in material.names
    ]
    return {
        "type": "object",
        "properties": {"beats": {"type": "array", "prefixItems": items}},
        "required": ["beats"],
    }


def build_arc(
    call: Call, material: Material, per_character: bool, data: dict[str, Any]
) -> EmotionalArc:
    """The model's ratings on code's beats; a character the beat names is in it, whatever
    the model said."""
    raw = data["beats"]
    if len(raw) != len(material.names):
        raise ValueError(f"expected {len(material.names)} beats, got {len(raw)}")
    bible = call.services.bible
    beats = []
    for name, text, item in zip(material.names, material.texts, raw, strict=True):
        named = [
            e.name for e in bible.named_in(call.show, text, call.as_of) if e.type == "character"
        ]
        rated: dict[str, float] = {}
        picked: list[str] = []
        for person in item["characters"]:
            if isinstance(person, dict):
                picked.append(person["name"])
                rated.setdefault(person["name"], float(person["valence"]))
            else:
                picked.append(person)
        beats.append(
            ArcBeat(
                name=name,
                text=text,
                valence=float(item["valence"]),
                emotion=item["emotion"],
                characters=list(dict.fromkeys([*named, *picked])),
                character_valence=rated,
            )
        )
    drawn = [n for n in material.cast if any(n in b.character_valence for b in beats)]
    return EmotionalArc(
        target=material.target,
        target_kind=material.target_kind,
        beats=beats,
        characters=drawn if per_character else [],
        sources=material.sources,
    )


# ---- the reply ----------------------------------------------------------------------------
def chart_text(arc: EmotionalArc) -> str:
    """The text chart: one row per beat."""
    notes = [
        b.emotion + (f" · {', '.join(b.characters)}" if b.characters else "") for b in arc.beats
    ]
    return arc_chart.text_chart([b.name for b in arc.beats], [b.valence for b in arc.beats], notes)


def chart_png(arc: EmotionalArc) -> bytes:
    lines = {name: arc.line(name) for name in arc.characters}
    title = f"Emotional arc: {arc.target}"
    return arc_chart.png(
        title,
        [b.name for b in arc.beats],
        [b.valence for b in arc.beats],
        lines,
        [b.emotion for b in arc.beats],
    )


def arc_text(arc: EmotionalArc, file_name: str) -> str:
    lines = [
        f"{render.bold('Emotional arc')} of {arc.target} ({len(arc.beats)} beats)",
        "```",
        render.in_code(chart_text(arc)),
        "```",
    ]
    for name in arc.characters:
        points = [
            f"{b.name} {v:+.2f}"
            for b, v in zip(arc.beats, arc.line(name), strict=True)
            if v is not None
        ]
        lines.append(f"{name}: {'; '.join(points)}")
    lines.append(f"The chart is attached as {file_name}.")
    if arc.sources:
        lines.append(render.sources_line(arc.sources))
    return "\n".join(lines)


def _max_tokens(call: Call, material: Material, per_character: bool) -> int:
    count = call.services.backend.count_tokens
    person = 24 if per_character else 10
    return sum(count(n) + 40 + PER_BEAT * person for n in material.names) + 40


async def run(call: Call) -> Reply:
    services = call.services
    material, per_character = read_target(call)
    beats = "\n".join(
        f"- {name}: {text}" for name, text in zip(material.names, material.texts, strict=True)
    )
    prompt = services.prompts.render(
        "arc",
        show=call.show,
        cast=", ".join(material.cast) or "(none named)",
        beats=beats,
        characters_note=(
            " For each character in a beat, also give how the beat feels for them (valence)."
            if per_character
            else ""
        ),
    )
    max_tokens = _max_tokens(call, material, per_character)
    check_fits(services, prompt, max_tokens, beats, "The story", material.pasted)
    arc = await services.produce(
        StructuredRequest(
            what="emotional arc",
            messages=({"role": "user", "content": prompt},),
            schema=arc_schema(material, per_character),
            build=lambda data: build_arc(call, material, per_character, data),
            lane=call.event.lane,
            max_tokens=max_tokens,
            temperature=services.config.structured_temperature,
        )
    )
    name = f"arc-{file_slug(arc.target, 'story')}.png"
    return Reply(
        kind="arc",
        text=arc_text(arc, name),
        result=arc,
        citations=arc.sources,
        files=[
            Attachment(
                name=name,
                mime="image/png",
                data=chart_png(arc),
                title=f"Emotional arc: {arc.target}",
            )
        ],
    )


SPEC = register(
    CommandSpec(
        "arc",
        "Chart an episode's or a text's emotional arc, beat by beat, with a PNG.",
        (
            Param(
                "target",
                "An episode (S1E04, Undertow) or pasted scenes; add 'characters' for one line "
                "per character.",
                rest=True,
                reads_file=True,
            ),
        ),
        ("arc S1E04", "arc Undertow characters", "arc INT. QUAY - NIGHT Maren waits…"),
        handler=run,
        result=EmotionalArc,
        prompt="arc",
        slow=True,
        records=True,
    )
)
