"""A backup of a room's data: the SQLite stores, each show's bible folder, and a manifest
that says what is inside, with a checksum for every file.

The stores are copied through SQLite's online backup API, which gives a consistent copy
while the bot goes on writing (a file copy of a live database and its WAL may not be). The
Chroma index is not copied: it is not safe to copy while the bot holds it, and a restore
rebuilds it from the folders (``memory.restore``), which also makes a backup independent of
the Chroma version and of where the data dir lived.

Every bible folder's lock (``memory.folder_lock``) is held while the stores and the folders
are copied, so no canon add or undo is halfway through (file written, ledger row not yet)
in what the backup holds: a restore must never find an add the writer was told about looking
unconfirmed, which the start-up check would take back.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sqlite3
from collections.abc import Mapping
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from memory.bible import InvalidShowName, show_slug
from memory.folder_lock import hold
from memory.progress import ProgressFn, no_progress

FORMAT = 1
MANIFEST = "manifest.json"
BIBLES = "bibles"
CHROMA_NOTE = "not copied: rebuilt on restore from the bible folders in this backup"


class BackupError(RuntimeError):
    """A backup that cannot be written or read; the message says what to do."""


class FileSum(BaseModel):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)


def _inside(path: str) -> str:
    """A path in a backup: relative, with no '..', so a manifest can name nothing outside."""
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or "\\" in path or ".." in parts or "." in parts:
        raise ValueError(f"not a path inside the backup: {path!r}")
    return path


class ShowEntry(BaseModel):
    folder: str  # in the backup: bibles/<show>
    from_data_dir: bool  # the folder lay in the data dir (else it was copied in from outside)

    @field_validator("folder")
    @classmethod
    def _folder_inside(cls, value: str) -> str:
        return _inside(value)


class Manifest(BaseModel):
    format: Literal[1]
    writersroom: str  # the version that wrote it
    created: str  # ISO 8601, UTC
    databases: dict[str, str]  # role (history, ledger, state) -> file in the backup
    shows: dict[str, ShowEntry]
    left_out: dict[str, str] = {}  # show -> why its folder is not in the backup
    chroma: str = CHROMA_NOTE
    files: dict[str, FileSum]  # every file but the manifest

    @field_validator("files")
    @classmethod
    def _files_inside(cls, value: dict[str, FileSum]) -> dict[str, FileSum]:
        for path in value:
            _inside(path)
        return value

    @field_validator("databases")
    @classmethod
    def _databases_inside(cls, value: dict[str, str]) -> dict[str, str]:
        for path in value.values():
            _inside(path)
        return value

    @field_validator("shows")
    @classmethod
    def _shows_are_names(cls, value: dict[str, ShowEntry]) -> dict[str, ShowEntry]:
        """Restore writes a show's files under bibles/<show>: a name like '../../etc' or
        '/etc' would write outside the data dir, so only a show's own slug is accepted, and
        only its own folder in the backup."""
        for show, entry in value.items():
            try:
                usable = show_slug(show) == show
            except InvalidShowName:
                usable = False
            if not usable or entry.folder != f"{BIBLES}/{show}":
                raise ValueError(f"not a show this backup could hold: {show!r}")
        return value

    def show_files(self, show: str) -> list[str]:
        """The backup's files of one show's folder, as paths inside that folder."""
        prefix = self.shows[show].folder + "/"
        return sorted(p[len(prefix) :] for p in self.files if p.startswith(prefix))


def checksum(path: Path) -> FileSum:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while block := src.read(1 << 20):
            digest.update(block)
    return FileSum(sha256=digest.hexdigest(), bytes=path.stat().st_size)


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite file, as one self-contained file (no WAL)."""
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def _files_of(folder: Path) -> list[Path]:
    """A bible folder's files, without the canon editor's half-written temporaries."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".tmp"))


def check_target(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(
            f"{target} already exists and is not an empty folder; nothing was written. "
            "Back up into a new (or empty) folder."
        )


def write_backup(
    target: Path,
    databases: Mapping[str, Path],
    shows: Mapping[str, Path | None],
    home: Path,
    version: str,
    progress: ProgressFn = no_progress,
) -> Manifest:
    """Write the backup into a scratch folder beside ``target`` and rename it into place at
    the end, so ``target`` is either a complete backup or absent. ``shows``: each show's
    bible folder (None where the store does not know it); those that cannot be copied are
    named in ``left_out``."""
    target = target.absolute()
    check_target(target)
    scratch = target.with_name(f"{target.name}.tmp-{secrets.token_hex(4)}")
    scratch.mkdir(parents=True)
    try:
        files: dict[str, FileSum] = {}
        entries, left_out = _show_entries(shows, home)
        with ExitStack() as held:  # in one order, so two backups cannot wait on each other
            for folder in sorted({f.resolve() for f in shows.values() if f and f.is_dir()}):
                held.enter_context(hold(folder))
            saved = _copy_databases(databases, scratch, files, progress)
            copied = {s: f for s, f in shows.items() if s in entries}
            _copy_bibles(copied, scratch, files, progress)
        manifest = Manifest(
            format=FORMAT,
            writersroom=version,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            databases=saved,
            shows=entries,
            left_out=left_out,
            files=files,
        )
        (scratch / MANIFEST).write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
        os.replace(scratch, target)  # onto an empty folder too
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return manifest


def _copy_databases(
    databases: Mapping[str, Path], scratch: Path, files: dict[str, FileSum], progress: ProgressFn
) -> dict[str, str]:
    """Each store that exists, by role -> its file in the backup."""
    present = {role: path for role, path in databases.items() if path.is_file()}
    for i, path in enumerate(present.values()):
        copy_database(path, scratch / path.name)
        files[path.name] = checksum(scratch / path.name)
        progress("databases", i + 1, len(present))
    return {role: path.name for role, path in present.items()}


def _show_entries(
    shows: Mapping[str, Path | None], home: Path
) -> tuple[dict[str, ShowEntry], dict[str, str]]:
    """The shows a backup can hold, and why each other one is left out."""
    entries: dict[str, ShowEntry] = {}
    left_out: dict[str, str] = {}
    for show, folder in shows.items():
        if folder is None:
            left_out[show] = "the bible store does not know its folder"
        elif not folder.is_dir():
            left_out[show] = "its bible folder is gone"
        elif not any(folder.rglob("*.md")):
            left_out[show] = "its bible folder holds no .md files"
        else:
            inside = folder.resolve().is_relative_to(home.resolve())
            entries[show] = ShowEntry(folder=f"{BIBLES}/{show}", from_data_dir=inside)
    return entries, left_out


def _copy_bibles(
    shows: Mapping[str, Path | None],
    scratch: Path,
    files: dict[str, FileSum],
    progress: ProgressFn,
) -> None:
    """Each show's folder into bibles/<show>/, wherever it lay."""
    todo = [(show, root, path) for show, root in shows.items() if root for path in _files_of(root)]
    for i, (show, root, path) in enumerate(todo):
        rel = f"{BIBLES}/{show}/{path.relative_to(root).as_posix()}"
        (scratch / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, scratch / rel)
        files[rel] = checksum(scratch / rel)
        progress("bible files", i + 1, len(todo))


def read_backup(source: Path, progress: ProgressFn = no_progress) -> Manifest:
    """The backup's manifest, once every file it names is there with its checksum; a
    partial or damaged backup is refused before anything is restored from it."""
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(
            f"{source} is not a writersroom backup (it has no {MANIFEST}); nothing was changed."
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raw = None
    written = raw.get("format") if isinstance(raw, dict) else None
    if isinstance(written, int) and written > FORMAT:
        raise BackupError(
            f"This backup was written by a newer writersroom (backup format {written}); "
            "upgrade writersroom to restore it. Nothing was changed."
        )
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError:
        manifest = None
    if manifest is None or not set(manifest.databases.values()) <= set(manifest.files):
        raise BackupError(
            f"The backup's {MANIFEST} is damaged, so the backup cannot be trusted; nothing was "
            "changed. Restore from another backup."
        )
    bad: list[str] = []
    for i, (rel, want) in enumerate(sorted(manifest.files.items())):
        file = source / rel
        if not file.is_file() or checksum(file) != want:
            bad.append(rel)
        progress("checking backup", i + 1, len(manifest.files))
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise BackupError(
            f"The backup is incomplete or damaged: {', '.join(bad[:3])}{more} missing or not "
            "as written. Nothing was changed; restore from another backup."
        )
    return manifest
