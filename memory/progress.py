"""The progress callback every long job takes: (stage, done, total)."""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    return None
