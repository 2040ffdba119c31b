"""`unvote N`: take your vote for a pitch back (every reaction of yours on it too)."""

from __future__ import annotations

from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec
from agents.commands.vote import PITCH, change_vote
from agents.messages import Reply
from agents.schemas import PitchResult


async def run(call: Call) -> Reply:
    return await change_vote(call, add=False)


SPEC = register(
    CommandSpec(
        "unvote",
        "Take your vote for a pitch back.",
        (PITCH,),
        ("unvote 2",),
        handler=run,
        result=PitchResult,
        addressable=True,
    )
)
