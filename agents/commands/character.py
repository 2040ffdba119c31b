"""`character NAME`: a character's card from the bible. Facts the bible states (status,
episodes, aliases, sources) come from its front matter; the model writes only the prose."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agents import render
from agents.canon import citation, excerpt_block
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.llm.base import StructuredRequest
from agents.llm.structured import token_allowance
from agents.messages import Reply
from agents.schemas import CharacterCard, character_schema


class NoSuchCharacter(BaseModel):
    found: Literal[False] = False
    name: str
    nearest: list[str] = Field(default_factory=list)


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return None


def _missing(call: Call, name: str, found_type: str | None) -> Reply:
    nearest = call.services.bible.nearest_names(call.show, name, "character")
    what = (
        f"'{name}' is a {found_type}, not a character"
        if found_type
        else f"'{name}' is not in the {call.show} bible"
    )
    hint = f" Nearest names: {', '.join(nearest)}." if nearest else ""
    result = NoSuchCharacter(name=name, nearest=nearest)
    return Reply(kind="character", text=f"{what}.{hint}", result=result)


async def run(call: Call) -> Reply:
    name, services = call.arg("name"), call.services
    found = services.bible.lookup(call.show, name, "character")
    if found is None or found[0].type != "character":
        return _missing(call, name, found[0].type if found else None)
    entity, chunks = found
    meta = chunks[0].metadata
    chars = services.config.max_field_chars
    prompt = services.prompts.render(
        "character_card",
        name=entity.name,
        show=call.show,
        canon=excerpt_block(services.prompts, chunks, [c.citation for c in chunks]),
    )
    card = await services.produce(
        StructuredRequest(
            what="character card",
            messages=({"role": "user", "content": prompt},),
            schema=character_schema(chars),
            build=lambda d: CharacterCard(
                name=entity.name,
                aliases=list(entity.aliases),
                status=str(meta["status"]) if "status" in meta else None,
                first_episode=_int_or_none(meta.get("first_episode")),
                last_episode=_int_or_none(meta.get("last_episode")),
                sources=[citation(c) for c in chunks],
                **d,
            ),
            lane=call.event.lane,
            max_tokens=token_allowance(4, chars),
            temperature=services.config.structured_temperature,
        )
    )
    return Reply(kind="character", text=render.card(card), result=card, citations=card.sources)


SPEC = register(
    CommandSpec(
        "character",
        "Show a character's card from the bible, with sources.",
        (Param("name", "The character's name or an alias.", rest=True, complete="characters"),),
        ("character Cap",),
        handler=run,
        result=CharacterCard,
        prompt="character_card",
        slow=True,
        records=True,
    )
)
