"""Replies as Slack mrkdwn: escaped so nothing the model writes can ping or link, split at
paragraph boundaries to stay well under Slack's message size."""

from __future__ import annotations

from agents.render import BOLD

MAX_CHARS = 3000


def escape(text: str) -> str:
    """Slack's control characters. Escaped, `<!channel>`, `<@U1>` and links are plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def split(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Split at paragraph, then line, then word boundaries; never mid-word if avoidable."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts or [""]


def mrkdwn(text: str) -> str:
    """Neutral text as Slack mrkdwn: escaped, titles in Slack's bold."""
    return BOLD.sub(r"*\1*", escape(text))
