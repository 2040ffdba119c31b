"""`vote N`: one vote per writer for a pitch (a reaction on the pitch counts the same).
``change_vote`` is shared with `unvote`."""

from __future__ import annotations

import asyncio

from agents.brainstorm import pitch_result
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.errors import BadRequest
from agents.messages import Reply
from agents.schemas import PitchResult


def _change(call: Call, add: bool) -> Reply:
    pitches, number, actor = call.services.ledger.pitches, call.arg("pitch"), call.event.actor
    pitch = pitches.by_id(number)
    if pitch is None or pitches.show_of(pitch.brainstorm_id) != call.show:
        raise BadRequest(f"There is no pitch #{number} for {call.show}.")
    changed = pitches.vote(pitch, actor) if add else pitches.unvote(pitch, actor, token=None)
    now = pitches.by_id(number)
    assert now is not None
    if add:
        said = "Vote counted" if changed else "You had already voted for it"
    else:
        said = "Vote taken back" if changed else "You had not voted for it"
    plural = "" if now.votes == 1 else "s"
    return Reply(
        kind="vote",
        text=f"{said}: pitch #{now.id} ({now.author}) has {now.votes} vote{plural}.",
        result=pitch_result(now),
    )


async def change_vote(call: Call, add: bool) -> Reply:
    return await asyncio.to_thread(_change, call, add)


async def run(call: Call) -> Reply:
    return await change_vote(call, add=True)


PITCH = Param("pitch", "The pitch number.", kind="int", rest=True, least=1)
SPEC = register(
    CommandSpec(
        "vote",
        "Vote for a pitch (one vote per writer; reactions count too).",
        (PITCH,),
        ("vote 2",),
        handler=run,
        result=PitchResult,
        addressable=True,
    )
)
