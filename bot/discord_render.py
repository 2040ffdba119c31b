"""Replies as Discord Markdown, in parts under Discord's 2,000-character limit (see
bot.splits for where a reply is cut and how a code block survives the cut)."""

from __future__ import annotations

from bot import splits

LIMIT = 2000


def split(text: str, limit: int = LIMIT) -> list[str]:
    return splits.split(text, limit)
