"""A reply's files in Discord: attached to a message sent after the reply, ten to a message
(Discord's limit). A file Discord refuses never costs the writer the reply, which is posted
already: the log gets a warning and the writer a line saying which file is missing and why.

And the other way: a file a writer attaches to a message for the bot is downloaded for the
core (``attached_files``), its declared size checked first so that a file over the upload
limit is never fetched.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import discord

from agents.messages import Attachment, Inbound

log = logging.getLogger(__name__)
FILES_PER_MESSAGE = 10

Send = Callable[..., Awaitable[Any]]  # a channel's or a followup's send, mentions already off


def as_file(attachment: Attachment) -> discord.File:
    return discord.File(
        io.BytesIO(attachment.data),
        filename=attachment.name,
        description=attachment.title or None,
    )


def reason(exc: BaseException) -> tuple[str, str]:
    """Why sending failed: a short code for the log, and plain words for the writer."""
    if isinstance(exc, discord.HTTPException):
        if exc.status == 413 or exc.code == 40005:
            return "too_large", "it is larger than this server lets the bot upload"
        if exc.status == 403:
            return "forbidden", "the bot needs the Attach Files permission in this channel"
        return f"http_{exc.status}", f"Discord refused it (error {exc.status})"
    if isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return type(exc).__name__, "Discord could not be reached"
    return type(exc).__name__, "something went wrong on the bot's side while sending it"


async def send_files(send: Send, files: list[Attachment]) -> int:
    """Send ``files`` after a delivered reply; returns how many arrived. Those Discord
    refused are named to the writer, with the reason, in one message."""
    missing: list[str] = []
    for start in range(0, len(files), FILES_PER_MESSAGE):
        batch = files[start : start + FILES_PER_MESSAGE]
        try:
            await send(files=[as_file(f) for f in batch])
        except Exception as exc:  # the reply is posted already: say what is missing
            code, why = reason(exc)
            names = ", ".join(f.name for f in batch)
            log.warning("files could not be sent to Discord (%s): %s", code, names)
            missing += [f"I could not attach `{f.name}`: {why}." for f in batch]
    if missing:
        try:
            await send(content="\n".join(missing))
        except Exception:
            log.error("the writer could not be told that a file was not attached")
    return len(files) - len(missing)


async def attached_files(attachments: list[discord.Attachment], max_bytes: int) -> list[Inbound]:
    """The files a message carries: the one file downloaded; with several, none is (the core
    reads one at a time and says so)."""
    declared = [
        Inbound(name=a.filename, mime=a.content_type or "", size=max(a.size, 0))
        for a in attachments
    ]
    if len(attachments) != 1:
        return declared
    attachment, inbound = attachments[0], declared[0]
    if attachment.size > max_bytes:
        return [inbound.model_copy(update={"error": "it is too big"})]  # never downloaded
    try:
        data = await attachment.read()
    except (TimeoutError, discord.HTTPException, aiohttp.ClientError) as exc:
        log.warning(
            "discord attachment %s: download failed (%s)", attachment.id, type(exc).__name__
        )
        why = "it could not be downloaded from Discord; try again"
        return [inbound.model_copy(update={"error": why})]
    if len(data) > max_bytes:
        return [inbound.model_copy(update={"size": len(data), "error": "it is too big"})]
    return [inbound.model_copy(update={"data": data, "size": len(data)})]
