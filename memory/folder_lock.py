"""One writer at a time in a bible folder, across processes and threads.

Two processes on one Chroma server (a Slack bot and a Discord bot, or `bible ingest` beside
the room) share a show's bible folder. An ingest reads the folder, then deletes from the index
every section no file holds; one that read the folder just before another process wrote a
promotion would delete that promotion's sections. So canon add and undo (file, index, ledger)
and every ingest of the folder hold this lock for their whole run.

The lock is ``flock`` on the folder itself, not on a file in it: nothing is written into the
bible (the bundled sample may be read-only, and a lock file would be one more file for ingest
to skip), and a process killed while holding it loses it with its descriptors. ``flock``
locks belong to an open file description, so one process opening the folder twice would wait
for itself; a process-wide table makes the lock re-entrant (canon add holds it and calls
ingest) and lets the threads of one process queue on a thread lock instead.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class _Held:
    thread_lock: threading.RLock = field(default_factory=threading.RLock)
    depth: int = 0
    fd: int = -1


_table: dict[str, _Held] = {}
_table_guard = threading.Lock()


def _entry(folder: Path) -> _Held:
    key = str(folder.resolve())
    with _table_guard:
        return _table.setdefault(key, _Held())


@contextmanager
def hold(folder: Path) -> Iterator[None]:
    """Hold the folder's lock for the block, waiting for any other holder to finish."""
    held = _entry(folder)
    with held.thread_lock:
        if held.depth == 0:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            held.fd = fd
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
            if held.depth == 0:
                fd, held.fd = held.fd, -1
                os.close(fd)  # closing the last descriptor drops the flock
