"""`capture`: in a brainstorm, keep the last thing a writer said as a pitch, credited to
them (not to whoever captured it)."""

from __future__ import annotations

import asyncio

from agents.brainstorm import pitch_reply
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec
from agents.errors import BadRequest
from agents.messages import Reply
from agents.schemas import PitchResult
from memory.ledger import Actor


def _capture(call: Call) -> Reply:
    log, bs = call.services.ledger.log, call.brainstorm
    assert bs is not None  # brainstorm_only
    said = [m for m in log.messages(bs.id) if m.kind == "chat"]
    if not said:
        raise BadRequest("Nothing said in this thread yet to capture. Pitch with: pitch: …")
    last = said[-1]
    pitch = log.record(
        bs, Actor(last.author_id, last.author), last.text, kind="pitch", pitch=last.text
    )
    assert pitch is not None
    return pitch_reply(pitch, f"captured for {call.event.author}")


async def run(call: Call) -> Reply:
    return await asyncio.to_thread(_capture, call)


SPEC = register(
    CommandSpec(
        "capture",
        "In a brainstorm: keep the last thing a writer said as a pitch.",
        (),
        ("capture",),
        handler=run,
        result=PitchResult,
        addressable=True,
        brainstorm_only=True,
    )
)
