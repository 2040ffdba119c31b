"""`beats PREMISE [STRUCTURE]`: a beat sheet in a named structure, each beat citing canon.

``beat_sheet`` is shared with brainstorm wrap-ups ('wrap beats')."""

from __future__ import annotations

import asyncio
from typing import Any

from agents import render
from agents.canon import citation, excerpt_block
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.continuity.run import flag_lines
from agents.llm.base import StructuredRequest
from agents.llm.structured import token_allowance
from agents.messages import Reply
from agents.schemas import (
    STRUCTURE_LABELS,
    STRUCTURES,
    Beat,
    BeatSheet,
    Citation,
    beats_schema,
)
from agents.services import Services
from memory.episodes import Episode

MAX_CHARACTERS = 24


async def beat_sheet(
    services: Services,
    show: str,
    premise: str,
    structure: str,
    lane: str,
    as_of: Episode | None = None,
) -> BeatSheet:
    """A beat sheet for a premise; beats cite the sections (S1, S2…) the model was shown."""
    canon = await services.relevant(show, premise, services.config.search_k, as_of)
    labels = [f"S{i}" for i in range(1, len(canon) + 1)]
    by_label = dict(zip(labels, (citation(c) for c in canon), strict=True))
    characters = [e.name for e in services.bible.entities(show, "character", as_of)][
        :MAX_CHARACTERS
    ]
    prompt = services.prompts.render(
        "beats",
        structure_label=STRUCTURE_LABELS[structure],
        show=show,
        characters=", ".join(characters) or "(none yet)",
        canon=excerpt_block(services.prompts, canon, [f"[{label}]" for label in labels]),
        premise=premise,
    )
    chars = services.config.max_field_chars

    def build(data: dict[str, Any]) -> BeatSheet:
        beats = [
            Beat(
                name=b["name"],
                what_happens=b["what_happens"],
                characters=b.get("characters", []),
                story_line=b.get("story_line"),
                sources=[by_label[s] for s in b.get("sources", []) if s in by_label],
            )
            for b in data["beats"]
        ]
        used: list[Citation] = []
        for beat in beats:
            used += [s for s in beat.sources if s not in used]
        return BeatSheet(premise=premise, structure=structure, beats=beats, sources=used)

    sheet = await services.produce(
        StructuredRequest(
            what="beat sheet",
            messages=({"role": "user", "content": prompt},),
            schema=beats_schema(structure, characters, labels, chars),
            build=build,
            lane=lane,
            max_tokens=token_allowance(len(STRUCTURES[structure]) * 2, chars, overhead=80),
            temperature=services.config.structured_temperature,
        )
    )
    # Checked like a pitch: the deterministic checks, with the flags shown under the sheet.
    said = "\n".join(beat.what_happens for beat in sheet.beats)
    flags = await asyncio.to_thread(flag_lines, services.bible, show, said, as_of)
    return sheet.model_copy(update={"continuity": flags})


async def run(call: Call) -> Reply:
    sheet = await beat_sheet(
        call.services,
        call.show,
        call.arg("premise"),
        call.arg("structure"),
        call.event.lane,
        call.as_of,
    )
    return Reply(kind="beats", text=render.beats(sheet), result=sheet, citations=sheet.sources)


SPEC = register(
    CommandSpec(
        "beats",
        "Break a premise into a beat sheet, using the show's characters and citing canon.",
        (
            Param("premise", "The story idea to break.", rest=True),
            Param("structure", "Beat structure.", False, tuple(STRUCTURES), default="save-the-cat"),
        ),
        ("beats Toby's funeral is interrupted by the fog bell tv-four-act",),
        handler=run,
        result=BeatSheet,
        prompt="beats",
        slow=True,
        records=True,
    )
)
