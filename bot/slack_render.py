"""Replies as Slack mrkdwn: escaped so nothing the model writes can ping or link, split at
paragraph boundaries to stay well under Slack's message size."""

from __future__ import annotations

from agents.messages import Reply
from agents.schemas import BeatSheet, CharacterCard, Citation, LoglineSet

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


def _sources(citations: list[Citation]) -> str:
    return "_Sources: " + " ".join(escape(c.label) for c in citations) + "_" if citations else ""


def _loglines(result: LoglineSet) -> str:
    lines = [f"*Loglines* for _{escape(result.premise)}_"]
    for i, item in enumerate(result.loglines, 1):
        lines.append(f"{i}. *{escape(item.logline)}*")
        lines.append(
            f"    protagonist: {escape(item.protagonist)} · goal: {escape(item.goal)} · "
            f"obstacle: {escape(item.obstacle)} · hook: {escape(item.hook)}"
        )
    return "\n".join([*lines, _sources(result.sources)]).strip()


def _beats(sheet: BeatSheet) -> str:
    lines = [f"*Beat sheet* ({sheet.structure}) for _{escape(sheet.premise)}_"]
    for i, beat in enumerate(sheet.beats, 1):
        story = f" [{beat.story_line}]" if beat.story_line else ""
        who = f" _with {escape(', '.join(beat.characters))}_" if beat.characters else ""
        lines.append(f"*{i}. {escape(beat.name)}*{story}: {escape(beat.what_happens)}{who}")
    return "\n".join([*lines, _sources(sheet.sources)]).strip()


def _card(card: CharacterCard) -> str:
    aka = f" (also {escape(', '.join(card.aliases))})" if card.aliases else ""
    facts = " · ".join(
        f
        for f in (
            f"status: {escape(card.status)}" if card.status else "",
            f"first episode: {card.first_episode}" if card.first_episode is not None else "",
            f"last episode: {card.last_episode}" if card.last_episode is not None else "",
        )
        if f
    )
    body = [
        f"*{escape(card.name)}*{aka}",
        facts,
        f"*Who:* {escape(card.summary)}",
        f"*Wants:* {escape(card.wants)}",
        f"*Arc:* {escape(card.arc)}",
        f"*Voice:* {escape(card.voice)}",
        _sources(card.sources),
    ]
    return "\n".join(line for line in body if line)


def render(reply: Reply) -> str:
    data = reply.data or {}
    if reply.kind == "loglines":
        return _loglines(LoglineSet.model_validate(data))
    if reply.kind == "beats":
        return _beats(BeatSheet.model_validate(data))
    if reply.kind == "character" and data.get("found"):
        return _card(CharacterCard.model_validate({k: v for k, v in data.items() if k != "found"}))
    return escape(reply.text)
