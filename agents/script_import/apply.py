"""Importing a script into a show's bible: read it, plan it, write the files, re-ingest,
and put every file back as it was if any step fails.

The plan is made while the folder's lock is held (``memory.folder_lock``), from the files
as they are then, so a promotion or another import cannot land between reading and
writing. Each file is replaced atomically; the show is marked as changing first, so a kill
part-way leaves whole files that the next start re-ingests, and importing the same script
again finishes the job (an import is idempotent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agents.bible_folder import writable_folder
from agents.errors import BadRequest, RoomError
from agents.screenplay.read import LoadedScript, ScriptFileError, read_script
from agents.script_import.folder import scan, taken_paths
from agents.script_import.identify import NoEpisode, episode_of, title_of
from agents.script_import.plan import ImportRefused, Plan, plan_import
from memory.bible import BibleStore, IngestReport
from memory.durable import remove, write_bytes_atomically
from memory.folder_lock import hold
from memory.progress import ProgressFn, no_progress


@dataclass(frozen=True)
class Imported:
    show: str
    file: str  # the script's file name
    loaded: LoadedScript
    plan: Plan
    ingest: IngestReport


def _refusal(name: str, why: str) -> BadRequest:
    return BadRequest(f"I did not import {name}: {why.rstrip('.')}. Nothing in the bible changed.")


def load(name: str, data: bytes, max_bytes: int, size: int = 0) -> LoadedScript:
    """The script, or a BadRequest a writer can act on."""
    try:
        return read_script(name, data, max_bytes, size)
    except ScriptFileError as exc:
        raise BadRequest(f"{exc} Nothing in the bible changed.") from exc


class ScriptImporter:
    def __init__(self, bible: BibleStore, read_only: Sequence[Path] = ()) -> None:
        self._bible = bible
        self._read_only = list(read_only)

    def run(
        self,
        show: str,
        name: str,
        data: bytes,
        max_bytes: int,
        episode: str | None = None,
        progress: ProgressFn = no_progress,
        size: int = 0,
    ) -> Imported:
        """Import the script ``data`` (a file called ``name``, ``size`` bytes where only its
        start was read) into ``show``'s bible."""
        loaded = load(name, data, max_bytes, size)
        latest = self._bible.latest_episode(show)
        try:
            code = episode_of(loaded.script, name, episode, latest.season if latest else 1)
        except NoEpisode as exc:
            raise _refusal(name, str(exc)) from exc
        title = title_of(loaded.script, name)
        folder = writable_folder(self._bible, show, self._read_only, "import into it")
        with hold(folder):
            try:
                found = scan(folder)
                plan = plan_import(
                    loaded.script,
                    found.entries,
                    taken_paths(folder),
                    found.broken,
                    code,
                    title,
                    name,
                    lambda done, total: progress("reading scenes", done, total),
                )
            except ImportRefused as exc:
                raise _refusal(name, str(exc)) from exc
            report = self._write(folder, show, plan, progress)
        return Imported(show, name, loaded, plan, report)

    def _write(self, folder: Path, show: str, plan: Plan, progress: ProgressFn) -> IngestReport:
        kept: dict[Path, bytes | None] = {}  # each file as it was (None: not there)
        made = _missing_folders(folder, plan)
        if plan.writes:
            self._bible.changing(show, folder)
        try:
            for change in plan.writes:
                path = folder / change.rel
                kept[path] = path.read_bytes() if path.exists() else None
                write_bytes_atomically(path, change.data)
            report = self._bible.ingest(folder, show, progress)
            ours = {c.rel for c in plan.writes}
            bad = [p for p in report.skipped if p.path in ours]
            if bad:
                raise RoomError(
                    f"the file {bad[0].path} would not load after the import ({bad[0].reason}), "
                    "so every file was put back as it was: nothing in the bible changed"
                )
        except BaseException:
            for path, data in kept.items():
                if data is None:
                    remove(path)
                else:
                    write_bytes_atomically(path, data)
            for created in reversed(made):
                if created.is_dir() and not any(created.iterdir()):
                    created.rmdir()
            if kept:
                self._bible.ingest(folder, show)
            raise
        return report


def _missing_folders(folder: Path, plan: Plan) -> list[Path]:
    """The folders writing the plan creates, outermost first, to take back on failure."""
    missing: list[Path] = []
    for change in plan.writes:
        for parent in reversed((folder / change.rel).parents):
            if folder in parent.parents and not parent.exists() and parent not in missing:
                missing.append(parent)
    return missing
