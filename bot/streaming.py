"""Relaying a reply that is still being written to a chat platform, shared by the adapters."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from agents.messages import Delta, Final, Reply, Update, Working

log = logging.getLogger(__name__)
H = TypeVar("H")  # a platform's handle on a posted message


async def relay(
    events: AsyncIterator[Update],
    show: Callable[[str], Awaitable[object]],
    interval_s: float,
    working: Callable[[], Awaitable[object]] | None = None,
) -> Reply:
    """Call ``show`` with the text so far at most once per interval (platforms rate-limit
    edits) and ``working`` when slow work starts; return the finished reply, or an error
    reply if producing it failed."""
    pieces: list[str] = []
    last = time.monotonic()
    reply = Reply(kind="error", text="No reply was produced. Please try again.")
    try:
        async for event in events:
            if isinstance(event, Delta):
                pieces.append(event.text)
                if time.monotonic() - last >= interval_s:
                    await show("".join(pieces))
                    last = time.monotonic()
            elif isinstance(event, Working):
                if working is not None:
                    await working()
            elif isinstance(event, Final):
                reply = event.reply
    except Exception:  # the writer must still hear back
        log.exception("reply failed")
        reply = Reply(kind="error", text="Something went wrong while answering; try again.")
    return reply


async def deliver(
    events: AsyncIterator[Update],
    *,
    post: Callable[[str], Awaitable[H]],
    edit: Callable[[H, str], Awaitable[object]],
    placeholder: str,
    preview: Callable[[str], str],
    finish: Callable[[Reply], list[str]],
    interval_s: float,
) -> Reply | None:
    """Post ``placeholder`` once slow work starts, edit it with the ``preview`` of the text
    so far as tokens arrive, then replace it with the first part of the finished reply and
    post the rest. Returns the reply, or None when the room only recorded the message and
    nothing was posted (room talk in a brainstorm gets no reply at all)."""
    posted: list[H] = []  # the placeholder, once there is one

    async def working() -> None:
        if not posted:
            posted.append(await post(placeholder))

    async def show(text: str) -> None:
        await working()
        await edit(posted[0], preview(text))

    reply = await relay(events, show, interval_s, working)
    if reply.kind == "noted" and not posted:
        return None
    parts = finish(reply)
    if posted:
        await edit(posted[0], parts[0])
    else:
        await post(parts[0])
    for part in parts[1:]:
        await post(part)
    return reply
