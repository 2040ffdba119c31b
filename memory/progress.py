"""The progress callback every long job takes: (stage, done, total).

A stage counted in bytes says so with a ':bytes' suffix ('assembling model:bytes'), so a
progress display can show sizes, speed and time left instead of a bare count.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[str, int, int], None]
BYTES = "bytes"


def counted_in_bytes(stage: str) -> str:
    return f"{stage}:{BYTES}"


def stage_unit(stage: str) -> tuple[str, str]:
    """'assembling model:bytes' -> ('assembling model', 'bytes'); other stages count items."""
    name, _, unit = stage.partition(":")
    return name, unit or "items"


def no_progress(stage: str, done: int, total: int) -> None:
    return None
