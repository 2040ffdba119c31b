"""`wrap [beats] [STRUCTURE]`: in a brainstorm, what the room decided, its top pitches by
votes and its open questions; with 'beats', a beat sheet from the pitches that have votes.

Only the summary line is the model's, and it is verified; everything else is the ledger's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from agents import render
from agents.brainstorm import DECISION, marked, one_line, open_questions, pitch_result, ranked
from agents.brainstorm import transcript as quoted
from agents.commands.beats import beat_sheet
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.continuity.run import flag_lines_each
from agents.errors import BadRequest
from agents.llm.base import StructuredRequest
from agents.llm.structured import token_allowance
from agents.messages import Reply
from agents.schemas import STRUCTURES, Summary, WrapUp, summary_schema
from agents.services import Services
from agents.verify import verify
from memory.episodes import Episode
from memory.ledger import Brainstorm, LedgerMessage, Pitch

SUMMARY_TEMPERATURE = 0.3
SUMMARY_PROMPT_RESERVE = 600  # tokens kept for the instructions and the answer
PITCH_CHARS = 200


def _plural(n: int, word: str, many: str) -> str:
    return f"{n} {word if n == 1 else many}"


def checked_summary(
    services: Services, summary: str, bs: Brainstorm, room: Sequence[LedgerMessage]
) -> str:
    """The model's summary line if it survives verification, else one written from the
    ledger's counts."""
    prompts = services.prompts
    instructions = prompts.render("wrap_summary", show="", topic="", transcript="")
    checked = verify(summary, [], instructions, [bs.topic, *(m.text for m in room)])
    if not checked.thin:
        return checked.text
    return prompts.render(
        "wrap_fallback",
        topic=bs.topic,
        messages=_plural(len(room), "message", "messages"),
        writers=_plural(len({m.author_id for m in room}), "writer", "writers"),
        pitches=_plural(sum(1 for m in room if m.kind == "pitch"), "pitch", "pitches"),
    ).strip()


def flagged(
    services: Services, show: str, pitches: Sequence[Pitch], as_of: Episode | None
) -> list[str]:
    """Pitches that still contradict canon (checked again now: canon may have changed)."""
    checked = flag_lines_each(services.bible, show, [p.text for p in pitches], as_of)
    return [
        f"#{p.id} ({p.author}): {lines[0]}"
        for p, lines in zip(pitches, checked, strict=True)
        if lines
    ]


async def run(call: Call) -> Reply:
    services, event, bs = call.services, call.event, call.brainstorm
    assert bs is not None  # brainstorm_only
    ledger, config = services.ledger, services.config
    messages = ledger.log.messages(bs.id)
    pitches = ledger.pitches.of_brainstorm(bs.id)
    top = ranked(pitches)[: config.top_pitches]
    accepted = [p for p in top if p.votes > 0]
    if call.arg("beats") and not accepted:
        raise BadRequest(
            "A beat sheet is built from the pitches the room voted for, and no pitch has a "
            "vote yet. Vote first (a reaction, or: vote N), then: wrap beats"
        )
    chars = config.summary_chars
    room = [m for m in messages if m.kind != "bot"]
    budget = min(services.backend.n_ctx - SUMMARY_PROMPT_RESERVE, config.transcript_token_budget)
    prompt = services.prompts.render(
        "wrap_summary",
        show=bs.show,
        topic=bs.topic,
        transcript=quoted(services.prompts, services.backend, room, budget),
    )
    summary = await services.produce(
        StructuredRequest(
            what="summary",
            messages=({"role": "user", "content": prompt},),
            schema=summary_schema(chars),
            build=lambda d: Summary(**d),
            lane=event.lane,
            max_tokens=token_allowance(1, chars),
            temperature=SUMMARY_TEMPERATURE,
        )
    )
    sheet = None
    if call.arg("beats"):
        premise = f"{bs.topic}. The room's pitches: " + "; ".join(
            f"{one_line(p.text, PITCH_CHARS)} ({p.author})" for p in accepted
        )
        sheet = await beat_sheet(
            services, bs.show, premise, call.arg("structure"), event.lane, call.as_of
        )
    result = WrapUp(
        topic=bs.topic,
        summary=checked_summary(services, summary.summary, bs, room),
        decisions=marked(messages, DECISION),
        top_pitches=[pitch_result(p) for p in top],
        open_questions=open_questions(messages),
        beat_sheet=sheet,
        flagged_pitches=await asyncio.to_thread(flagged, services, bs.show, pitches, call.as_of),
    )
    text = render.wrap_up(result)
    data = result.model_dump(exclude={"wrap"})
    kept = render.plain(text)  # the ledger keeps text without the platforms' markup
    wrap = await asyncio.to_thread(ledger.log.add_wrap, bs, event.actor, kept, data)
    await asyncio.to_thread(ledger.log.record, bs, event.actor, kept, kind="bot")
    return Reply(
        kind="wrap",
        text=text,
        result=result.model_copy(update={"wrap": wrap.id}),
        citations=sheet.sources if sheet else [],
    )


SPEC = register(
    CommandSpec(
        "wrap",
        "In a brainstorm: decisions, top pitches by votes, open questions; with 'beats', a beat "
        "sheet from the pitches that have votes.",
        (
            Param("beats", "Add a beat sheet.", False, kind="bool", default=False),
            Param("structure", "Beat structure.", False, tuple(STRUCTURES), default="tv-four-act"),
        ),
        ("wrap", "wrap beats three-act"),
        handler=run,
        result=WrapUp,
        prompt="wrap_summary",
        slow=True,
        addressable=True,
        brainstorm_only=True,
    )
)
