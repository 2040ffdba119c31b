"""A reply's table and files in Slack: the table as a Block Kit table block under the
reply's brief, and each file uploaded into the reply's thread (``files_upload_v2``, which
needs the ``files:write`` scope).

Everything a model wrote stays escaped, in blocks as in text, so nothing can ping or link.
A failed upload never costs the writer their reply (it is already posted): the log gets a
warning and the thread gets a line that says which file is missing and why, in plain words.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from agents.messages import Attachment, Reply, Table
from agents.render import bold
from bot.attachments import outgoing
from bot.slack_render import MAX_CHARS, escape, split

log = logging.getLogger(__name__)
MAX_ROWS = 100  # Slack's table block: rows, the header row included
MAX_COLUMNS = 20  # ... and cells in a row
SECTION_CHARS = 3000  # a section block's text
EMPTY_CELL = "–"  # a raw_text cell needs at least one character

NOT_ALLOWED = (
    "the bot may not upload files here (its Slack app needs the files:write permission: "
    "whoever runs the bot can add it and reinstall the app)"
)
REASONS = {
    "missing_scope": NOT_ALLOWED,
    "not_allowed_token_type": NOT_ALLOWED,
    "no_permission": NOT_ALLOWED,
    "restricted_action": "this workspace does not let apps upload files in this channel",
    "not_in_channel": "the bot is not a member of this channel",
    "channel_not_found": "the bot cannot see this channel",
    "file_too_large": "the file is larger than Slack takes",
    "invalid_length": "the file is larger than Slack takes",
    "ratelimited": "Slack is limiting how fast the bot may post; ask again in a minute",
}


@dataclass(frozen=True)
class Post:
    """One Slack message: its text (mrkdwn, escaped), and blocks where it shows a table
    (the text is then what notifications and clients without blocks show)."""

    text: str
    blocks: list[dict[str, Any]] | None = None


def as_post(part: str | Post) -> Post:
    return part if isinstance(part, Post) else Post(part)


def table_blocks(table: Table, heading: str) -> list[dict[str, Any]] | None:
    """A section with ``heading`` (mrkdwn, escaped) over a table block, header row first;
    None where the table is beyond Slack's limits (the reply's text shows it instead)."""
    if (
        len(table.rows) + 1 > MAX_ROWS
        or len(table.columns) > MAX_COLUMNS
        or not 0 < len(heading) <= SECTION_CHARS
    ):
        return None

    def cells(row: list[str]) -> list[dict[str, str]]:
        return [{"type": "raw_text", "text": escape(c) or EMPTY_CELL} for c in row]

    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": heading}},
        {
            "type": "table",
            "rows": [cells(table.columns), *(cells(row) for row in table.rows)],
            "column_settings": [{"is_wrapped": True} for _ in table.columns],
        },
    ]


def posts(reply: Reply, render: Callable[[str], str]) -> tuple[list[Post], list[Attachment]]:
    """The messages that show ``reply`` and the files to upload after them. ``render`` turns
    neutral text into the message's mrkdwn (a heading such as who asked included). With a
    table within Slack's limits, one message shows the brief and the table."""
    out = outgoing(reply, lambda text: split(render(text)))
    table = reply.table
    if table is None:
        return [Post(p) for p in out.parts], out.files
    heading = render(reply.brief or bold(table.title))
    blocks = table_blocks(table, heading)
    if blocks is None:
        return [Post(p) for p in out.parts], out.files
    fallback = out.parts[0] if len(out.parts) == 1 else split(heading, MAX_CHARS)[0]
    return [Post(fallback, blocks)], out.files


def reason(exc: BaseException) -> tuple[str, str]:
    """Why an upload failed: a short code for the log, and plain words for the writer."""
    if isinstance(exc, SlackApiError):
        code = str(exc.response.get("error") or "unknown")
        return code, REASONS.get(code, f"Slack refused the upload ({code})")
    if isinstance(exc, SlackRequestError):
        return "upload_rejected", "Slack did not accept the file's contents"
    if isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return type(exc).__name__, "Slack could not be reached"
    return type(exc).__name__, "something went wrong on the bot's side while uploading it"


async def attach(
    client: AsyncWebClient,
    channel: str,
    thread_ts: str | None,
    files: list[Attachment],
    tell: Callable[[str], Awaitable[object]],
) -> int:
    """Upload each file into the channel and thread; returns how many arrived. Those that
    could not be uploaded are named to the writer with the reason, in one message."""
    missing: list[str] = []
    for file in files:
        try:
            await client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                content=file.data,
                filename=file.name,
                title=file.title or file.name,
            )
        except Exception as exc:  # the reply is posted already: say what is missing
            code, why = reason(exc)
            log.warning("a file could not be uploaded to Slack (%s): %s", code, file.name)
            missing.append(f"I could not attach *{escape(file.name)}*: {escape(why)}.")
    if missing:
        try:
            await tell("\n".join(missing))
        except Exception:
            log.error("the writer could not be told that a file was not attached")
    return len(files) - len(missing)
