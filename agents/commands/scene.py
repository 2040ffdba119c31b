"""`scene PREMISE [with NAMES]`: a short scene draft in screenplay form (Fountain).

The model fills the scene's parts under a JSON schema (heading, opening action, exchanges
whose cues are an enum of the cast); code writes the Fountain text, so the draft always
parses and every cue is a bible character or a name the writer gave. Each speaker's lines
are steered by the bible's ``Voice`` notes for them, and the draft goes through the same
deterministic continuity checks as a pitch, with the flags shown under it.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pydantic import BaseModel, Field, model_validator

from agents import render
from agents.canon import citation, excerpt_block
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.continuity.run import flag_lines
from agents.desk import Cast, check_fits, file_slug, names_in, resolve_cast, split_with
from agents.desk import voice_section as voice_of
from agents.errors import BadRequest
from agents.fountain import INT_EXT, TIMES, Element, Heading, write_scene
from agents.llm.base import StructuredRequest
from agents.llm.structured import token_allowance
from agents.messages import Attachment, Reply
from agents.schemas import Citation, one_line, optional_line
from agents.services import Services
from memory.episodes import Episode

EXCHANGES = (3, 6)  # fewest and most lines of dialogue in a draft: a short scene
LINE_CHARS = 120
CANON_K = 3


class SceneLine(BaseModel):
    """A line of dialogue, with the action that follows it (if any)."""

    cue: str
    character: str | None  # the bible's name for the speaker; None for a new character
    parenthetical: str = ""
    line: str
    action_after: str = ""


class SceneDraft(BaseModel):
    premise: str
    int_ext: str
    place: str
    time: str
    opening: str
    lines: list[SceneLine] = Field(min_length=1)
    cast: list[str] = Field(default_factory=list)  # bible names of those who speak
    new_characters: list[str] = Field(default_factory=list)
    voice_notes: list[Citation] = Field(default_factory=list)
    sources: list[Citation] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    continuity: list[str] = Field(default_factory=list)
    fountain: str = ""

    @model_validator(mode="after")
    def _written(self) -> SceneDraft:
        if not self.fountain:
            self.fountain = write_scene(self.heading, self.elements())
        return self

    @property
    def heading(self) -> Heading:
        return Heading(self.int_ext, self.place, self.time)

    @property
    def label(self) -> str:
        """How a reply that works on it names it: 'the thread's scene (INT. … - NIGHT)'."""
        return f"the thread's scene ({self.heading.line})"

    def elements(self) -> list[Element]:
        out = [Element(self.opening)] if self.opening.strip() else []
        for item in self.lines:
            out.append(Element(item.line, item.cue, item.parenthetical))
            if item.action_after.strip():
                out.append(Element(item.action_after))
        return out


_TAG = re.compile(r"</?[A-Za-z][^<>]{0,40}>")


def worded(text: str) -> str:
    """Model text without markup debris: an HTML tag ('<br/>'), or a piece with no letter
    at all ('}, {'), which a base model leaves where its JSON bled into a field."""
    text = " ".join(_TAG.sub(" ", text).split())
    return text if re.search(r"[^\W\d_]", text) else ""


def scene_schema(cues: list[str], chars: int) -> dict[str, Any]:
    optional = optional_line(chars)
    exchange = {
        "type": "object",
        "properties": {
            "cue": {"enum": cues},
            "parenthetical": {"type": "string", "pattern": "^([A-Za-z][A-Za-z ,'-]{2,29})?$"},
            "line": one_line(chars),
            "action_after": optional,
        },
        "required": ["cue", "parenthetical", "line", "action_after"],
    }
    heading = {
        "type": "object",
        "properties": {
            "int_ext": {"enum": list(INT_EXT)},
            # Free text, upper-cased by code: a capitals-only pattern keeps a model off the
            # tokens it would write, and every rejected token costs a wider grammar pass.
            "place": one_line(40),
            "time": {"enum": list(TIMES[:6])},
        },
        "required": ["int_ext", "place", "time"],
    }
    low, high = EXCHANGES
    return {
        "type": "object",
        "properties": {
            "heading": heading,
            "opening": one_line(chars),
            "exchanges": {"type": "array", "items": exchange, "minItems": low, "maxItems": high},
        },
        "required": ["heading", "opening", "exchanges"],
    }


def _voices(
    services: Services, show: str, cast: Cast, as_of: Episode | None
) -> tuple[str, dict[str, Citation]]:
    """One line per speaker: cue, name and the bible's voice notes (quoted), and the
    section each character's notes came from, by name."""
    lines: list[str] = []
    cited: dict[str, Citation] = {}
    for cue, entity in cast.cues.items():
        found = services.bible.lookup(show, entity.name, "character", as_of)
        voice = voice_of(found[1]) if found else None
        if voice is not None:
            cited[entity.name] = citation(voice)
            note = " ".join(voice.text.split())
            lines.append(f"- {cue.title()} ({entity.name}): voice: “{note}”")
        else:
            lines.append(f"- {cue.title()} ({entity.name})")
    lines += [f"- {name} (new, not in the bible)" for name in cast.new]
    return "\n".join(lines), cited


async def draft_scene(call: Call, premise: str, named: list[str]) -> SceneDraft:
    services, show, as_of = call.services, call.show, call.as_of
    cast = await asyncio.to_thread(resolve_cast, services, show, named, premise, as_of)
    voices, voice_notes = await asyncio.to_thread(_voices, services, show, cast, as_of)
    canon = await services.relevant(show, premise, CANON_K, as_of)
    labels = [f"S{i}" for i in range(1, len(canon) + 1)]
    places = [e.name for e in services.bible.entities(show, "location", as_of)]
    prompt = services.prompts.render(
        "scene",
        show=show,
        premise=premise,
        voices=voices,
        places=", ".join(places) or "(none yet)",
        canon=excerpt_block(services.prompts, canon, [f"[{label}]" for label in labels]),
    )
    # The grammar offers names as a reader writes them ('Maren', as in the prompt), not as
    # cues ('MAREN'): choices a model would write anyway need no wider grammar passes.
    spoken = {cue.title(): cue for cue in cast.cues} | {n: n.upper() for n in cast.new}
    chars = min(LINE_CHARS, services.config.max_field_chars)
    max_tokens = token_allowance(2 + 2 * EXCHANGES[1], chars, overhead=120)
    check_fits(services, prompt, max_tokens, premise, "The premise", pasted=True)

    def build(data: dict[str, Any]) -> SceneDraft:
        heading = data["heading"]
        said = [(spoken[x["cue"]], x) for x in data["exchanges"]]
        lines = [
            SceneLine(
                cue=cue,
                character=cast.cues[cue].name if cue in cast.cues else None,
                parenthetical=x["parenthetical"],
                line=worded(x["line"]) or "…",
                action_after=worded(x["action_after"]),
            )
            for cue, x in said
        ]
        speaking = [x.character for x in lines if x.character]
        return SceneDraft(
            premise=premise,
            int_ext=heading["int_ext"],
            place=heading["place"].upper(),
            time=heading["time"],
            opening=worded(data["opening"]),
            lines=lines,
            cast=list(dict.fromkeys(speaking)),
            new_characters=cast.new,
            # the notes of those who speak: a voice given but unused steered nothing
            voice_notes=[
                voice_notes[name] for name in dict.fromkeys(speaking) if name in voice_notes
            ],
            sources=[citation(c) for c in canon],
            notes=cast.notes,
        )

    draft = await services.produce(
        StructuredRequest(
            what="scene draft",
            messages=({"role": "user", "content": prompt},),
            schema=scene_schema(list(spoken), chars),
            build=build,
            lane=call.event.lane,
            max_tokens=max_tokens,
            temperature=services.config.structured_temperature,
        )
    )
    flags = await asyncio.to_thread(flag_lines, services.bible, show, checked_text(draft), as_of)
    return draft.model_copy(update={"continuity": flags})


def checked_text(draft: SceneDraft) -> str:
    """What the continuity checks read: the action, and each line as the speaker saying it
    ('Tobias Vell says: …'), so a character who speaks when canon has them dead or gone is
    a claim about that character, as a pitch that names them would be."""
    said = [f"{draft.opening}"]
    for item in draft.lines:
        who = item.character or item.cue.title()
        said.append(f"{who} says: {item.line}")
        if item.action_after.strip():
            said.append(item.action_after)
    return "\n".join(said)


def _tail(draft: SceneDraft) -> list[str]:
    lines = []
    if draft.voice_notes:
        lines.append("Voices from: " + " ".join(c.label for c in draft.voice_notes))
    if draft.sources:
        lines.append("Canon it was given: " + " ".join(c.label for c in draft.sources))
    lines += [f"Note: {note}" for note in draft.notes]
    if draft.continuity:
        lines += [render.bold("Continuity:"), *(f"- {line}" for line in draft.continuity)]
    return lines


def scene_text(draft: SceneDraft) -> str:
    # the chat's copy only: the .fountain file keeps the text exactly as written
    body = ["```fountain", render.in_code(draft.fountain.rstrip()), "```"]
    return "\n".join([f"{render.bold('Scene draft')} for: {draft.premise}", *body, *_tail(draft)])


def scene_brief(draft: SceneDraft, file_name: str) -> str:
    """What a chat platform shows when the draft is too long for one message."""
    said = f"{draft.heading.line}, {len(draft.lines)} lines of dialogue"
    head = f"{render.bold('Scene draft')} for: {draft.premise}\n{said}: attached as {file_name}"
    return "\n".join([head, *_tail(draft)])


def last_scene(call: Call, missing: str) -> SceneDraft:
    """The thread's last drafted scene; else the last one this writer drafted by command in
    this channel (Slack's `/wr scene` belongs to the writer's own command history there,
    while its reply sits in a thread where they may then ask for shots or a translation).
    None found: ``missing`` (formatted with the platform's command prefix) is the refusal."""
    event, history = call.event, call.services.history
    own = event.own_key
    found = history.latest_result(event.key, call.show, ["scene"])
    if found is None and own != event.key:
        found = history.latest_result(own, call.show, ["scene"])
    if found is None:
        raise BadRequest(missing.format(prefix=event.prefix))
    return SceneDraft.model_validate_json(found[1])


def last_scene_text(call: Call, missing: str) -> tuple[str, str]:
    """The thread's last drafted scene as Fountain text, and how a reply names it."""
    draft = last_scene(call, missing)
    return draft.fountain, draft.label


async def run(call: Call) -> Reply:
    premise, named = split_with(call.arg("premise"))
    if not re.search(r"\w", premise):
        raise BadRequest(
            f"'scene' needs PREMISE: what happens in the scene, before 'with'. Usage: {SPEC.usage}"
        )
    if call.arg("cast"):
        named = [*named, *names_in(call.arg("cast"))]
    draft = await draft_scene(call, premise, named)
    name = f"scene-{file_slug(draft.premise, 'draft')}.fountain"
    attachment = Attachment(
        name=name,
        mime="text/plain",
        data=draft.fountain.encode("utf-8"),
        title=f"Scene draft: {draft.heading.line}",
        when_long=True,
    )
    return Reply(
        kind="scene",
        text=scene_text(draft),
        result=draft,
        citations=[*draft.voice_notes, *draft.sources],
        files=[attachment],
        brief=scene_brief(draft, name),
    )


SPEC = register(
    CommandSpec(
        "scene",
        "Draft a short scene in screenplay form (Fountain), in the characters' voices.",
        (
            Param(
                "premise",
                "What happens in the scene; end with 'with NAME, NAME' to choose who is in it.",
                rest=True,
            ),
            Param(
                "cast",
                "Who is in the scene, comma-separated (names the bible lacks are new).",
                required=False,
                complete="characters",
            ),
        ),
        (
            "scene Maren finds Toby's phone in the wheelhouse with Maren, Jun",
            "scene Nell asks Calder about the lighthouse lamp",
        ),
        handler=run,
        result=SceneDraft,
        prompt="scene",
        slow=True,
        records=True,
    )
)
