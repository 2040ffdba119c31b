"""Replies as Discord Markdown, split under the 2,000-character limit at line boundaries,
closing and reopening a code fence that a split would otherwise break."""

from __future__ import annotations

LIMIT = 2000


def split(text: str, limit: int = LIMIT) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    size = 0
    fence: str | None = None  # the opening line of the fence we are inside, if any

    def flush() -> None:
        nonlocal current, size
        if current:
            body = "\n".join(current)
            parts.append(body + ("\n```" if fence else ""))
            current = [fence] if fence else []
            size = len(fence) + 1 if fence else 0

    for line in text.split("\n"):
        pieces = [line]
        while len(pieces[-1]) > limit - 8:  # a single overlong line: split at a space
            last = pieces.pop()
            cut = last.rfind(" ", 0, limit - 8)
            cut = cut if cut > 0 else limit - 8
            pieces += [last[:cut], last[cut:].lstrip()]
        for piece in pieces:
            reserve = 4 if fence or piece.startswith("```") else 0
            if size + len(piece) + 1 + reserve > limit:
                flush()
            current.append(piece)
            size += len(piece) + 1
            if piece.strip().startswith("```"):
                fence = None if fence else piece.strip()
    if current and any(c.strip() for c in current):
        parts.append("\n".join(current))
    return parts or [""]
