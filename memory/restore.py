"""Restoring a checked backup (``memory.backup.read_backup``) into a data dir.

Everything is built in a scratch folder beside its final place first (same file system, so
putting it in place is a rename): the stores, the bible folders, and the bible index rebuilt
from those folders. Only then is each old thing moved aside and its new one moved in; a
failure on the way moves them all back, so a failed restore leaves the data dir as it was.
What a forced restore replaced is kept, not deleted, in a ``.wr-replaced-<time>/`` folder in
the data dir (and beside an embedded store kept outside it), for a restore made by mistake.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from memory.backup import BackupError, Manifest
from memory.bible import IngestReport
from memory.progress import ProgressFn, no_progress

SIDECARS = ("-wal", "-shm", "-journal")  # a SQLite file's companions: they move with it
LOCK_FILE = "writersroom.lock"  # the embedded store's lock (memory.bible.StoreLock), not data

# (home, chroma folder or None for a server, show -> folder, progress) -> one report per show
Reindex = Callable[[Path, Path | None, dict[str, Path], ProgressFn], list[IngestReport]]


@dataclass(frozen=True)
class DataLayout:
    """Where a data dir keeps what a backup holds. The databases and the bibles folder lie
    directly in ``home``; the embedded Chroma store may lie elsewhere (WR_CHROMA_PATH)."""

    home: Path
    databases: dict[str, Path]  # role (history, ledger, state) -> file
    bibles: Path
    chroma: Path | None  # the embedded store; None with a Chroma server

    def items(self) -> list[Path]:
        """Each thing a restore replaces, with the SQLite files' companions."""
        files = [p.with_name(p.name + s) for p in self.databases.values() for s in ("", *SIDECARS)]
        return [*files, self.bibles, *([self.chroma] if self.chroma else [])]

    def holding_data(self) -> list[str]:
        """The names of the things here that hold data (an empty store or folder does not)."""
        return [p.name for p in self.items() if _holds_data(p)]


@dataclass
class Restored:
    manifest: Manifest
    reports: list[IngestReport] = field(default_factory=list)
    replaced: Path | None = None  # where the replaced data was kept, if any


def _holds_data(path: Path) -> bool:
    if path.is_dir():
        return any(p.name != LOCK_FILE for p in path.iterdir())
    return path.exists()


def restore_backup(
    source: Path,
    manifest: Manifest,
    layout: DataLayout,
    reindex: Reindex,
    force: bool = False,
    progress: ProgressFn = no_progress,
) -> Restored:
    held = layout.holding_data()
    if held and not force:
        raise BackupError(
            f"The data dir already holds data ({', '.join(held)}); nothing was changed. "
            "Restore into an empty data dir (set WR_DATA_DIR), or add --force to replace it "
            "(what it replaces is kept in a .wr-replaced-<time> folder in the data dir)."
        )
    token = secrets.token_hex(4)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{token[:4]}"
    items = layout.items()
    scratch = {p.parent / f".wr-restore-{token}" for p in items}
    aside = {p.parent / f".wr-replaced-{stamp}" for p in items}

    def staged(path: Path) -> Path:
        return path.parent / f".wr-restore-{token}" / path.name

    def moved_aside(path: Path) -> Path:
        return path.parent / f".wr-replaced-{stamp}" / path.name

    done = False
    try:
        for folder in scratch:
            folder.mkdir(parents=True)
        _stage_files(source, manifest, layout, staged, progress)
        folders = {show: staged(layout.bibles) / show for show in manifest.shows}
        chroma = staged(layout.chroma) if layout.chroma else None
        reports = reindex(staged(layout.bibles).parent, chroma, folders, progress)
        _swap(items, staged, moved_aside)
        done = True
    finally:
        for folder in scratch:
            shutil.rmtree(folder, ignore_errors=True)
        for folder in (f for f in aside if f.is_dir()):
            if not done:  # emptied by the swap's undo; rmdir leaves anything it missed
                with contextlib.suppress(OSError):
                    folder.rmdir()
            elif not held:  # only empty stores were moved aside
                shutil.rmtree(folder, ignore_errors=True)
    return Restored(manifest, reports, layout.home / f".wr-replaced-{stamp}" if held else None)


def _stage_files(
    source: Path,
    manifest: Manifest,
    layout: DataLayout,
    staged: Callable[[Path], Path],
    progress: ProgressFn,
) -> None:
    unknown = set(manifest.databases) - set(layout.databases)
    if unknown:
        raise BackupError(
            f"The backup holds stores this version does not know ({', '.join(sorted(unknown))});"
            " restore it with the writersroom version that wrote it. Nothing was changed."
        )
    copies = [
        (source / name, staged(layout.databases[role])) for role, name in manifest.databases.items()
    ]
    for show, entry in manifest.shows.items():
        copies += [
            (source / entry.folder / rel, staged(layout.bibles) / show / rel)
            for rel in manifest.show_files(show)
        ]
    for i, (src, dst) in enumerate(copies):
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        progress("restoring files", i + 1, len(copies))
    for role in manifest.databases:
        _check_database(staged(layout.databases[role]))
    staged(layout.bibles).mkdir(exist_ok=True)


def _check_database(path: Path) -> None:
    db = sqlite3.connect(str(path))
    try:
        ok = db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError:
        ok = False
    finally:
        db.close()
    if not ok:
        raise BackupError(
            f"The backup's {path.name} is not a sound SQLite file; nothing was changed. "
            "Restore from another backup."
        )


def _swap(items: list[Path], staged: Callable[[Path], Path], aside: Callable[[Path], Path]) -> None:
    """Old out, new in, one rename each; on a failure every rename is undone."""
    done: list[tuple[Path, Path]] = []
    try:
        for item in items:
            if item.exists() or item.is_symlink():
                aside(item).parent.mkdir(exist_ok=True)
                os.replace(item, aside(item))
                done.append((item, aside(item)))
            new = staged(item)
            if new.exists():
                os.replace(new, item)
                done.append((new, item))
    except BaseException:
        for old, moved in reversed(done):
            os.replace(moved, old)
        raise
