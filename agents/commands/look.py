"""`look NAME`: a character's look for costume, casting and storyboard artists.

Each field (age, build, face, hair, wardrobe, distinguishing marks) is either the bible's,
with the section it comes from (an enum of that character's sections, S1..Sn, so it can
cite nothing else), or the model's suggestion, marked as one. What the bible's front
matter states (``age: 44``) is filled in by code. A cited field that shares no word with
the section it cites is shown as a suggestion. Code also writes a text-to-image prompt
and a negative prompt from the fields; no image is generated.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from agents import render
from agents.canon import citation, excerpt_block
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.errors import BadRequest
from agents.llm.base import StructuredRequest
from agents.llm.structured import token_allowance
from agents.messages import Reply
from agents.schemas import Citation, one_line
from memory.bible_parse import Chunk

FieldName = Literal["age", "build", "face", "hair", "wardrobe", "marks"]
FIELDS: tuple[FieldName, ...] = ("age", "build", "face", "hair", "wardrobe", "marks")
LABELS = {
    "age": "age",
    "build": "build",
    "face": "face",
    "hair": "hair",
    "wardrobe": "wardrobe",
    "marks": "distinguishing marks",
}
LIGHTING = (
    "soft window light",
    "overcast daylight",
    "golden hour sun",
    "low-key night light",
    "harsh sodium streetlight",
    "warm firelight",
    "cold fluorescent light",
    "stormy grey light",
)
LENS = "85mm portrait lens, shallow depth of field, eye level"
STYLE = "cinematic film still, photorealistic, natural skin texture, 35mm film grain"
NEGATIVE = (
    "cartoon, anime, illustration, 3d render, extra fingers, deformed hands, distorted "
    "face, duplicate figures, text, caption, watermark, logo, signature, blurry, "
    "oversaturated, glamour retouching"
)
STORY_ROLES = {"protagonist", "antagonist", "lead", "supporting", "recurring", "guest"}
MOOD_CHARS = 60
NO_SOURCE = "none"
_WORDS = re.compile(r"[a-z]{4,}")
_PLAIN = re.compile(r"[^\w ,.'’;:/&()-]")


class LookField(BaseModel):
    field: FieldName
    text: str
    from_bible: bool  # True: the bible says so (``source`` cites where); False: a suggestion
    source: Citation | None = None
    front_matter: bool = False  # stated in the entry's front matter, filled in by code

    @model_validator(mode="after")
    def _cited(self) -> LookField:
        if self.from_bible != (self.source is not None):
            raise ValueError("a field from the bible cites its source; a suggestion cites none")
        return self


class Look(BaseModel):
    name: str
    role: str | None = None
    fields: list[LookField] = Field(min_length=len(FIELDS), max_length=len(FIELDS))
    lighting: str
    mood: str
    image_prompt: str
    negative_prompt: str
    sources: list[Citation] = Field(default_factory=list)

    def get(self, name: FieldName) -> LookField:
        return next(f for f in self.fields if f.field == name)


def look_schema(asked: list[FieldName], labels: list[str], chars: int) -> dict[str, Any]:
    field = {
        "type": "object",
        "properties": {"text": one_line(chars), "source": {"enum": [*labels, NO_SOURCE]}},
        "required": ["text", "source"],
    }
    props: dict[str, Any] = {name: field for name in asked}
    props |= {"lighting": {"enum": list(LIGHTING)}, "mood": one_line(min(MOOD_CHARS, chars))}
    return {"type": "object", "properties": props, "required": list(props)}


def _plain(text: str) -> str:
    """One line of the model's text, fit for an image prompt: no markup, no breaks."""
    return " ".join(_PLAIN.sub(" ", text).split()).strip(" ,;.")


_STOP = frozenset(
    "that this with from when what which where while have been were their there they them "
    "into onto over under about after before than then very some more most such only also "
    "just like your yours hers him his her she he".split()
)


def content_words(text: str, names: frozenset[str]) -> set[str]:
    return {w for w in _WORDS.findall(text.lower()) if w not in _STOP and w not in names}


def supported_by(text: str, chunk: Chunk, names: frozenset[str] = frozenset()) -> bool:
    """Does the cited section say this? Most of the field's own words (not 'with' or
    'from', not the character's names) must be in it, and at least two of them: a field
    that only shares a common word with its section is the model's suggestion, not canon."""
    said = content_words(text, names)
    found = said & content_words(chunk.text, names)
    return len(found) >= 2 and len(found) >= 0.6 * len(said)


def image_prompt(
    name: str, role: str | None, fields: dict[str, LookField], lighting: str, mood: str
) -> str:
    age = fields["age"].text
    who = f"{name}, {age} years old" if age.isdigit() else f"{name}, {age}"
    if role and role.lower() not in STORY_ROLES:
        who += f", {role}"
    look = "; ".join(_plain(fields[k].text) for k in ("build", "face", "hair", "marks"))
    return (
        f"Subject: portrait of {who}. Look: {look}. Wardrobe: {_plain(fields['wardrobe'].text)}. "
        f"Lighting: {lighting}. Lens: {LENS}. Mood: {_plain(mood)}. Style: {STYLE}."
    )


def look_text(look: Look) -> str:
    head = render.bold(f"Look: {look.name}") + (f" ({look.role})" if look.role else "")
    lines = [head]
    for f in look.fields:
        if f.from_bible and f.source is not None:
            where = "from the bible's front matter" if f.front_matter else "from the bible"
            lines.append(f"{LABELS[f.field].capitalize()}: {f.text} ({where}) {f.source.label}")
        else:
            lines.append(
                f"{LABELS[f.field].capitalize()}: {f.text} (suggestion: the bible is silent)"
            )
    lines += [
        render.bold("Image prompt") + " (for your own image tool; no image is generated):",
        "```",
        render.in_code(look.image_prompt),
        "```",
        render.bold("Negative prompt") + ":",
        "```",
        render.in_code(look.negative_prompt),
        "```",
    ]
    if look.sources:
        lines.append(render.sources_line(look.sources))
    return "\n".join(lines)


async def run(call: Call) -> Reply:
    name, services = call.arg("name").strip(), call.services
    found = services.bible.lookup(call.show, name, "character", call.as_of)
    if found is None or found[0].type != "character":
        nearest = services.bible.nearest_names(call.show, name, "character", as_of=call.as_of)
        what = (
            f"'{name}' is a {found[0].type}, not a character"
            if found
            else f"'{name}' is not a character in the {call.show} bible"
        )
        hint = f" Nearest names: {', '.join(nearest)}." if nearest else ""
        raise BadRequest(f"{what}.{hint} Nothing was saved.")
    entity, chunks = found
    facts = services.bible.facts(call.show, call.as_of)[entity.file]
    role = facts.role
    entry = Citation(file=entity.file, heading=entity.name)  # the entry's front matter
    asked: list[FieldName] = [f for f in FIELDS if not (f == "age" and facts.age is not None)]
    labels = [f"S{i}" for i in range(1, len(chunks) + 1)]
    shown = dict(zip(labels, chunks, strict=True))
    chars = services.config.max_field_chars
    prompt = services.prompts.render(
        "look",
        name=entity.name,
        show=call.show,
        role=f"Their role: {role}." if role else "",
        canon=excerpt_block(services.prompts, chunks, [f"[{label}]" for label in labels]),
        fields=", ".join(LABELS[f] for f in asked),
    )

    own_names = frozenset(w for n in entity.names for w in _WORDS.findall(n.lower()))

    def build(data: dict[str, Any]) -> Look:
        fields: dict[str, LookField] = {}
        if facts.age is not None:
            fields["age"] = LookField(
                field="age", text=str(facts.age), from_bible=True, source=entry, front_matter=True
            )
        for key in asked:
            raw = data[key]
            chunk = shown.get(raw["source"])
            cited = chunk is not None and supported_by(raw["text"], chunk, own_names)
            fields[key] = LookField(
                field=key,
                text=raw["text"],
                from_bible=cited,
                source=citation(chunk) if cited and chunk is not None else None,
            )
        ordered = [fields[k] for k in FIELDS]
        sources: list[Citation] = []
        for f in ordered:
            if f.source is not None and f.source not in sources:
                sources.append(f.source)
        return Look(
            name=entity.name,
            role=role,
            fields=ordered,
            lighting=data["lighting"],
            mood=data["mood"],
            image_prompt=image_prompt(entity.name, role, fields, data["lighting"], data["mood"]),
            negative_prompt=NEGATIVE,
            sources=sources,
        )

    look = await services.produce(
        StructuredRequest(
            what="character look",
            messages=({"role": "user", "content": prompt},),
            schema=look_schema(asked, labels, chars),
            build=build,
            lane=call.event.lane,
            max_tokens=token_allowance(len(asked) + 2, chars, overhead=40 + 12 * len(asked)),
            temperature=services.config.structured_temperature,
        )
    )
    return Reply(kind="look", text=look_text(look), result=look, citations=look.sources)


SPEC = register(
    CommandSpec(
        "look",
        "A character's look for costume, casting and storyboards (age, build, face, hair, "
        "wardrobe, marks): the bible's facts cited, the rest marked as suggestions, with a "
        "text-to-image prompt and negative prompt for your own image tool (no image is "
        "generated).",
        (Param("name", "The character's name or an alias.", rest=True, complete="characters"),),
        ("look Maren", "look Calder"),
        handler=run,
        result=Look,
        prompt="look",
        slow=True,
        records=True,
    )
)
