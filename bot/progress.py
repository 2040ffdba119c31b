"""Progress bars on stderr for long work (assembling the model, ingesting a bible)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from memory.progress import ProgressFn


@contextmanager
def progress_bars(console: Console, enabled: bool = True) -> Iterator[ProgressFn]:
    if not enabled:
        yield lambda stage, done, total: None
        return
    columns = (TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=False) as bars:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield update
