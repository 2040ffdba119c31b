"""Relaying a reply that is still being written to a chat platform, shared by the adapters."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from agents.messages import Delta, Event, Final, Reply, Working

log = logging.getLogger(__name__)


async def relay(
    events: AsyncIterator[Event],
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
