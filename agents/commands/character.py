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
from memory.episodes import Episode


class NoSuchCharacter(BaseModel):
    found: Literal[False] = False
    name: str
    nearest: list[str] = Field(default_factory=list)


def _missing(call: Call, name: str, found_type: str | None) -> Reply:
    nearest = call.services.bible.nearest_names(call.show, name, "character", as_of=call.as_of)
    what = (
        f"'{name}' is a {found_type}, not a character"
        if found_type
        else f"'{name}' is not in the {call.show} bible"
    )
    hint = f" Nearest names: {', '.join(nearest)}." if nearest else ""
    result = NoSuchCharacter(name=name, nearest=nearest)
    return Reply(kind="character", text=f"{what}.{hint}", result=result)


def _shown_last(last: Episode | None, call: Call) -> int | None:
    """A last episode after the room's episode is a spoiler."""
    if last is None or (call.as_of is not None and last > call.as_of):
        return None
    return last.episode


async def run(call: Call) -> Reply:
    name, services = call.arg("name"), call.services
    found = services.bible.lookup(call.show, name, "character", call.as_of)
    if found is None or found[0].type != "character":
        return _missing(call, name, found[0].type if found else None)
    entity, chunks = found
    facts = services.bible.facts(call.show, call.as_of)[entity.file]
    status = facts.status_as_of(call.as_of)  # as of the room's episode: no later spoilers
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
                status=status,
                first_episode=facts.first.episode if facts.first else None,
                last_episode=_shown_last(facts.last, call),
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
