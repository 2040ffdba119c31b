"""Progress bars on stderr for long work (assembling the model, ingesting a bible)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from bot.compose import BYTES, ProgressFn, stage_unit


class _Amount(ProgressColumn):
    """'120.4/253.1 MB 85.2 MB/s 0:00:02' for byte stages (as pip shows a download), '12/28'
    for counted ones."""

    def __init__(self) -> None:
        super().__init__()
        self._count = MofNCompleteColumn()
        self._size = DownloadColumn()
        self._speed = TransferSpeedColumn()
        self._left = TimeRemainingColumn()

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") != BYTES:
            return self._count.render(task)
        parts = [self._size.render(task), self._speed.render(task), self._left.render(task)]
        return Text(" ").join(parts)


@contextmanager
def progress_bars(console: Console, enabled: bool = True) -> Iterator[ProgressFn]:
    if not enabled:
        yield lambda stage, done, total: None
        return
    columns = (TextColumn("{task.description:<18}"), BarColumn(), _Amount())
    with Progress(*columns, console=console, transient=False) as bars:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                name, unit = stage_unit(stage)
                tasks[stage] = bars.add_task(name, total=total, unit=unit)
            bars.update(tasks[stage], completed=done, total=total)

        yield update
