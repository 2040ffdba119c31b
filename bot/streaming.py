"""Relaying a reply that is still being written to a chat platform, shared by the adapters.

Platforms rate-limit edits, and an edit can still fail after the client's own retries. A
preview is a courtesy: when one fails the generation goes on and later previews are skipped.
The finished reply is what the writer asked for: when the edit that would show it fails, it
is posted as a new message (and the stale placeholder removed where the platform lets us),
and when even that fails, the writer is told so rather than left with "thinking…".
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from agents.messages import Delta, Final, Reply, Update, Working

log = logging.getLogger(__name__)
H = TypeVar("H")  # a platform's handle on a posted message
P = TypeVar("P")  # a finished part as the platform posts it: text, or text with a table

UNDELIVERED = (
    "I wrote a reply but the chat platform would not take it (it may be rate-limiting the "
    "bot). Please ask again in a minute."
)


async def relay(
    events: AsyncIterator[Update],
    show: Callable[[str], Awaitable[object]],
    interval_s: float,
    working: Callable[[], Awaitable[object]] | None = None,
) -> Reply:
    """Call ``show`` with the text so far at most once per interval (platforms rate-limit
    edits) and ``working`` when slow work starts; return the finished reply, or an error
    reply if producing it failed. A failing ``show`` or ``working`` never stops the reply."""
    pieces: list[str] = []
    last = time.monotonic()
    previews = True  # until the platform refuses one
    reply = Reply(kind="error", text="No reply was produced. Please try again.")

    async def courtesy(call: Awaitable[object]) -> bool:
        try:
            await call
            return True
        except Exception:
            log.warning("a preview could not be shown; the reply goes on without previews")
            return False

    try:
        async for event in events:
            if isinstance(event, Delta):
                pieces.append(event.text)
                if previews and time.monotonic() - last >= interval_s:
                    previews = await courtesy(show("".join(pieces)))
                    last = time.monotonic()
            elif isinstance(event, Working):
                if working is not None and previews:
                    previews = await courtesy(working())
            elif isinstance(event, Final):
                reply = event.reply
    except Exception:  # the writer must still hear back
        log.exception("reply failed")
        reply = Reply(kind="error", text="Something went wrong while answering; try again.")
    return reply


async def deliver(
    events: AsyncIterator[Update],
    *,
    post: Callable[[str | P], Awaitable[H]],
    edit: Callable[[H, str | P], Awaitable[object]],
    placeholder: str,
    preview: Callable[[str], str],
    finish: Callable[[Reply], list[P]],
    interval_s: float,
    retract: Callable[[H], Awaitable[object]] | None = None,
) -> Reply | None:
    """Post ``placeholder`` once slow work starts, edit it with the ``preview`` of the text
    so far as tokens arrive, then replace it with the first part of the finished reply and
    post the rest. Returns the reply (an error reply when it could not be delivered), or None
    when the room only recorded the message and nothing was posted (room talk in a
    brainstorm gets no reply at all). Parts are the platform's own (Slack's carry a table's
    blocks), so ``post`` and ``edit`` take them as well as plain text; what goes with the
    reply once it is delivered (its files) is the adapter's to send."""
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
    try:
        await _first_part(posted[0] if posted else None, parts[0], post, edit, retract)
        for part in parts[1:]:
            await post(part)
    except Exception:
        log.exception("the reply could not be delivered")
        try:
            await post(UNDELIVERED)
        except Exception:
            log.error("the writer could not be told that the reply was not delivered")
        return Reply.error(UNDELIVERED)
    return reply


async def _first_part(
    placeholder: H | None,
    text: P,
    post: Callable[[str | P], Awaitable[H]],
    edit: Callable[[H, str | P], Awaitable[object]],
    retract: Callable[[H], Awaitable[object]] | None,
) -> None:
    """The placeholder becomes the reply; if that edit fails, the reply is a new message
    and the placeholder (a stale "thinking…" or half a preview) is removed if it can be."""
    if placeholder is None:
        await post(text)
        return
    try:
        await edit(placeholder, text)
        return
    except Exception:
        log.warning("the final edit failed; posting the reply as a new message")
    await post(text)
    if retract is not None:
        try:
            await retract(placeholder)
        except Exception:
            log.warning("a stale placeholder could not be removed")
