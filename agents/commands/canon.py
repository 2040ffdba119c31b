"""`canon add N|wrap` and `canon undo`: canon editors put a pitch or a wrap-up into the
bible, or take the last addition back (see ``agents.canon_editor``)."""

from __future__ import annotations

import asyncio

from agents.canon_editor import CanonChange
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.messages import Reply


async def run(call: Call) -> Reply:
    editor, event = call.services.canon, call.event
    if call.arg("action") == "undo":
        return await asyncio.to_thread(editor.undo, event.actor, call.may_edit_canon, call.show)
    return await asyncio.to_thread(
        editor.add, event.actor, call.may_edit_canon, call.show, call.arg("target"), call.brainstorm
    )


SPEC = register(
    CommandSpec(
        "canon",
        "Canon editors only: add a pitch (or the thread's wrap-up) to the bible, or undo the "
        "last addition.",
        (
            Param("action", "add or undo.", choices=("add", "undo")),
            Param("target", "A pitch number, or 'wrap'.", required=False, rest=True),
        ),
        ("canon add 2", "canon add wrap", "canon undo"),
        handler=run,
        result=CanonChange,
        slow=True,
        addressable=True,
    )
)
