"""Saving the files replies carry, for the terminal room and `writersroom ask`: each under
a new name in the exports folder, so a later export never replaces an earlier one.

A file is written whole under a hidden temporary name, flushed, then linked to its final
name, which fails rather than replace a file already there (another export of the same name
in the same second, from this process or another one): the next free name is tried instead.
A file that cannot be written (a full disk, a folder the user may not write) leaves nothing
behind, neither the temporary file nor a part of the export. The folder must be on a file
system with hard links (every local one the bot runs on).
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path

from agents.messages import Attachment

MAX_TRIES = 1000  # names tried for one export before giving up


def export_name(name: str, when: datetime, n: int = 1) -> str:
    """'shots.csv' saved at 2026-11-24 00:49:43 is '20261124-004943-shots.csv'; the second
    of that name in that second is '20261124-004943-shots-2.csv'."""
    path = Path(name)
    stem = path.stem if n == 1 else f"{path.stem}-{n}"
    return f"{when:%Y%m%d-%H%M%S}-{stem}{path.suffix}"


def save(folder: Path, attachment: Attachment, when: datetime | None = None) -> Path:
    """Write ``attachment`` into ``folder`` under a name no earlier export has; its path.
    Raises OSError (with nothing left behind) when it cannot be written."""
    when = when or datetime.now()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{attachment.name}.{secrets.token_hex(6)}.tmp"
    # Created as open() would create it (the umask applies), not owner-only as mkstemp does.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(attachment.data)
            out.flush()
            os.fsync(out.fileno())
        target = _link_new(tmp, folder, attachment.name, when)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(folder)
    return target


def _link_new(tmp: Path, folder: Path, name: str, when: datetime) -> Path:
    """Give the written file its first free export name (a link never replaces a file)."""
    for n in range(1, MAX_TRIES + 1):
        target = folder / export_name(name, when, n)
        try:
            os.link(tmp, target)
            return target
        except FileExistsError:
            continue
    raise FileExistsError(f"{MAX_TRIES} exports named like {name} this second already")


def _fsync_dir(folder: Path) -> None:
    """Flush the folder's entries, so the new name survives a power cut. (memory.durable
    has the same four lines; bot/ modules other than the composition root import nothing
    from memory/, see tests/test_architecture.py.)"""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
