"""Fit history and canon into the model's window by a token budget.

Policy, in order, until the request fits: drop the oldest history beyond the last two
turns; drop the least relevant canon beyond the best excerpt; drop the remaining history;
drop the last excerpt. If it still does not fit, the writer's own message is too long.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agents.errors import ContextOverflow


@dataclass(frozen=True)
class Fit:
    history_start: int  # keep history[history_start:]
    canon_count: int  # keep canon[:canon_count]
    tokens: int


def fit_budget(
    window: int, fixed: int, history: Sequence[int], canon: Sequence[int], keep_turns: int = 2
) -> Fit:
    """Token counts in, what to keep out; ``fixed`` covers system text, message and reply."""
    start, count = 0, len(canon)

    def total() -> int:
        return fixed + sum(history[start:]) + sum(canon[:count])

    floor = max(0, len(history) - keep_turns)
    while total() > window and start < floor:
        start += 1
    while total() > window and count > 1:
        count -= 1
    while total() > window and start < len(history):
        start += 1
    while total() > window and count > 0:
        count -= 1
    if total() > window:
        raise ContextOverflow(total(), window)
    return Fit(start, count, total())
