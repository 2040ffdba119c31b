"""`riff [N]`: in a brainstorm, build on pitch N, the newest pitch, or what a writer just
said. Also what the bot does when addressed in a brainstorm without a command."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel

from agents.brainstorm import TEMPLATE_OVERHEAD, one_line, riff_target, transcript
from agents.canon import citation, excerpt_block, unique
from agents.cite import Cited, stream_and_cite
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.extract import Picked
from agents.llm.chat_model import chat_text
from agents.messages import Delta, Final, Reply, Update, Working
from agents.render import plain
from memory.ledger import Brainstorm
from memory.timeline import visible

CREDIT_CHARS = 160
RIFF_FLOOR_SENTENCES = 2
FALLBACK_SOURCES = 3
RIFF_SEARCH = 5  # sections searched for the riff; the best new ones join the topic's canon


class RiffResult(BaseModel):
    builds_on: str


async def riff(call: Call, bs: Brainstorm, pitch_no: int | None, ask: str) -> AsyncIterator[Update]:
    services, event = call.services, call.event
    ledger, prompts, config = services.ledger, services.prompts, services.config
    messages = ledger.log.messages(bs.id)
    target = riff_target(
        bs, messages, ledger.pitches.of_brainstorm(bs.id), event.actor.id, pitch_no, ask
    )
    yield Working()
    chunks = (services.bible.chunk(bs.show, i) for i in bs.canon_ids)
    topic_canon = [c for c in chunks if c and visible(c, call.as_of)]
    fresh = [
        c
        for c in await services.relevant(bs.show, f"{ask} {target.text}", RIFF_SEARCH, call.as_of)
        if c not in topic_canon
    ][: config.riff_canon]
    canon = topic_canon + fresh
    system = prompts.render("brainstorm_system", show=bs.show, topic=bs.topic)
    block = excerpt_block(prompts, canon, [c.citation for c in canon])
    build_on = f"{target.credit}: “{one_line(target.text)}”"

    def user_turn(quoted: str) -> str:
        return prompts.render(
            "brainstorm_riff",
            canon=block,
            transcript=quoted,
            build_on=build_on,
            author=event.author,
            ask=ask,
        )

    backend = services.backend
    count = backend.count_tokens
    fixed = count(system) + count(user_turn("")) + config.riff_max_tokens + TEMPLATE_OVERHEAD
    budget = min(backend.n_ctx - fixed, config.transcript_token_budget)
    credit = prompts.render(
        "riff_credit", credit=target.credit, text=one_line(target.text, CREDIT_CHARS)
    )
    yield Delta(credit)

    async def floor() -> list[Picked]:
        query = f"{ask} {target.text}"
        return await asyncio.to_thread(services.extractor.pick, query, canon, RIFF_FLOOR_SENTENCES)

    cited = Cited("", [])
    async for item in stream_and_cite(
        chat_text(
            backend,
            [
                SystemMessage(content=system),
                HumanMessage(content=user_turn(transcript(prompts, backend, messages, budget))),
            ],
            lane=event.lane,
            max_tokens=config.riff_max_tokens,
            temperature=config.brainstorm_temperature,
            deadline_s=config.deadline_s,
        ),
        canon=canon,
        instructions=system + "\n" + user_turn(""),
        said=[m.text for m in messages] + [ask, target.text],
        grounded=False,
        floor=floor,
        # A riff is always about the thread's canon: uncited, it names what it was given.
        fallback=unique(citation(c) for c in canon[:FALLBACK_SOURCES]),
    ):
        if isinstance(item, Delta):
            yield item
        else:
            cited = item
    text = credit + (cited.text or prompts.render("riff_nothing").strip())
    await asyncio.to_thread(ledger.log.record, bs, event.actor, plain(text), kind="bot")
    yield Final(
        Reply(
            kind="riff",
            text=text,
            citations=cited.citations,
            result=RiffResult(builds_on=target.credit),
        )
    )


async def run(call: Call) -> AsyncIterator[Update]:
    assert call.brainstorm is not None  # brainstorm_only
    async for update in riff(call, call.brainstorm, call.arg("pitch"), ""):
        yield update


SPEC = register(
    CommandSpec(
        "riff",
        "In a brainstorm: build on the room's latest pitch, or on pitch N.",
        (Param("pitch", "A pitch number.", required=False, kind="int", rest=True, least=1),),
        ("riff", "riff 2"),
        stream=run,
        result=RiffResult,
        prompt="brainstorm_riff",
        slow=True,
        addressable=True,
        brainstorm_only=True,
    )
)
