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

The wait is bounded: a holder that never lets go (a hung process) is reported as ``FolderBusy``
instead of stalling a writer's command for ever. A folder replaced while this waited (a
restore renames the bibles into place) is locked again under its new identity, so the lock
always belongs to the folder the path names now.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# Longer than a large bible's ingest (10k sections took about 95 s at 107 sections/s) that a
# canon change may queue behind; short enough that a hung holder is reported, not waited on.
WAIT_S = 300.0
_POLL_S = 0.05


class FolderBusy(RuntimeError):
    """Another process (or thread) kept the bible folder's lock past the wait. The message is
    shown to writers as it is: it names no path."""

    def __init__(self, waited_s: float) -> None:
        super().__init__(
            "Someone else is changing this show's bible right now (a canon change or a "
            f"re-ingest, in another bot or at the command line), still after {waited_s:.0f} s. "
            "Nothing was changed; try again in a minute."
        )


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


def _same_folder(fd: int, folder: Path) -> bool:
    """Does the path still name the folder that ``fd`` has open (and so locked)?"""
    try:
        now = os.stat(folder)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def _flock(folder: Path, deadline: float, wait_s: float) -> int:
    """An open descriptor of ``folder`` holding its exclusive flock, taken before the
    deadline; FolderBusy after it."""
    while True:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise FolderBusy(wait_s) from None
                    time.sleep(_POLL_S)
            if _same_folder(fd, folder):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the folder was replaced while this waited: lock the new one


@contextmanager
def hold(folder: Path, wait_s: float | None = None) -> Iterator[None]:
    """Hold the folder's lock for the block, waiting up to ``wait_s`` (default ``WAIT_S``)
    for any other holder to finish (FolderBusy after that; nothing of the block has run)."""
    wait_s = WAIT_S if wait_s is None else wait_s
    held = _entry(folder)
    deadline = time.monotonic() + wait_s
    if not held.thread_lock.acquire(timeout=wait_s):
        raise FolderBusy(wait_s)
    try:
        if held.depth == 0:
            held.fd = _flock(folder, deadline, wait_s)
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
            if held.depth == 0:
                fd, held.fd = held.fd, -1
                os.close(fd)  # closing the last descriptor drops the flock
    finally:
        held.thread_lock.release()


@contextmanager
def hold_all(folders: Iterable[Path], wait_s: float | None = None) -> Iterator[None]:
    """Hold several folders' locks, always taken in one order (by resolved path), so two
    writers that each need two folders cannot each hold one and wait for the other."""
    with ExitStack() as stack:
        for folder in sorted({f.resolve() for f in folders}, key=str):
            stack.enter_context(hold(folder, wait_s))
        yield
