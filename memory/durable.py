"""Files and folders that are either there whole or not there at all, after a kill or a
power cut: the room's promotions into canon and the first run's copy of the sample bible.

A file is written under a temporary name, flushed to disk, then renamed over its final
name; the folder is flushed after the rename (and after a removal), because until then the
rename itself may be lost. Temporary names start with a dot and end in ``.tmp`` (files) or
``.partial`` (folders), so what a kill leaves behind is recognisable and can be cleared.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

TMP_SUFFIX = ".tmp"
PARTIAL_SUFFIX = ".partial"


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (names created, renamed or removed in it) to disk."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(folder: Path) -> None:
    """Create a folder and its missing parents, each flushed into the folder above it."""
    if folder.is_dir():
        return
    make_dirs(folder.parent)
    folder.mkdir(exist_ok=True)
    fsync_dir(folder.parent)


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would, for every thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def file_mode(path: Path) -> int:
    """The mode a rewritten file keeps, or a new one gets as open() would give it. mkstemp
    makes its files owner-only, which would hide canon from a backup or an ingest run as
    another user."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8): a reader, or the next start after a kill, sees
    the old file or the new one, never part of it."""
    write_bytes_atomically(path, text.encode("utf-8"))


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """``write_atomically`` for bytes: a file kept in its own encoding and line endings."""
    make_dirs(path.parent)
    mode = file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def remove(path: Path) -> None:
    """Remove a file (if there) and flush its folder, so the removal survives a power cut."""
    path.unlink(missing_ok=True)
    if path.parent.is_dir():
        fsync_dir(path.parent)


def leftover_files(folder: Path) -> list[Path]:
    """Temporary files ``write_atomically`` left in ``folder`` when it was killed."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f".*{TMP_SUFFIX}") if p.is_file())


def leftover_copies(target: Path) -> list[Path]:
    """Half-made copies of ``target`` that ``copy_tree_atomically`` left when it was killed."""
    if not target.parent.is_dir():
        return []
    return sorted(target.parent.glob(f".{target.name}.*{PARTIAL_SUFFIX}"))


def copy_tree_atomically(source: Path, target: Path) -> bool:
    """Copy a folder so that ``target`` appears only once all of it is on disk; False if
    ``target`` was already there. Half-made copies from a killed run are removed first.

    The caller makes sure no other process copies to the same ``target`` at once (it would
    see the other's copy as a leftover)."""
    for old in leftover_copies(target):
        shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        return False
    make_dirs(target.parent)
    made = tempfile.mkdtemp(prefix=f".{target.name}.", suffix=PARTIAL_SUFFIX, dir=target.parent)
    tmp = Path(made)
    try:
        shutil.copytree(source, tmp, dirs_exist_ok=True, copy_function=_copy_flushed)
        for folder, _, _ in os.walk(tmp, topdown=False):
            fsync_dir(Path(folder))
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(target.parent)
    return True


def _copy_flushed(src: str, dst: str) -> str:
    shutil.copy2(src, dst)
    with open(dst, "rb") as copied:
        os.fsync(copied.fileno())
    return dst
