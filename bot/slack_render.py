"""Replies as Slack mrkdwn: escaped so nothing the model writes can ping or link, then split
to stay well under Slack's message size (see bot.splits)."""

from __future__ import annotations

import re

from agents.render import BOLD
from bot import splits

MAX_CHARS = 3000  # Slack takes 4,000 in a message's text; parts stay well under it
ENTITY = re.compile(r"&(?:amp|lt|gt);")  # what escape() writes


def escape(text: str) -> str:
    """Slack's control characters. Escaped, `<!channel>`, `<@U1>` and links are plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def split(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Escaped text in parts (see bot.splits): the limit counts the escapes, and no part
    ends inside one."""
    return splits.split(text, limit, ENTITY)


def mrkdwn(text: str) -> str:
    """Neutral text as Slack mrkdwn: escaped, titles in Slack's bold."""
    return BOLD.sub(r"*\1*", escape(text))
