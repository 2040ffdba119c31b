"""Crashes lose nothing, step by step and in one process: the first run's copy and ingest,
flushed canon writes, the start-up check of promotions, and the bible folder's lock.
tests/test_kill.py kills real processes at random points."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.canon_editor import pitch_draft
from agents.messages import Reply, final_reply
from bot import compose
from memory.bible import Embedder
from memory.durable import copy_tree_atomically
from tests.conftest import run
from tests.crash_state import (
    SAMPLE_FILES,
    bible_folder,
    files_of,
    leftovers,
    seeded,
    start,
    state_of,
)
from tests.kill_child import SAMPLE, SHOW, canon, settings_for


def reply(app: compose.App, action: str, target: str = "") -> Reply:
    return run(final_reply(app.room.handle(canon(action, target))))


class FailingEmbedder:
    """The real embedder, until the ingest of the sample's sections: then the process 'dies'
    (an exception nothing in the store catches, after the collection was created)."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner

    def embed(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        if len(texts) > 10:
            raise KeyboardInterrupt("cut off mid-ingest")
        return self._inner.embed(texts, progress)


# ---- the first run ---------------------------------------------------------------------------
def test_a_first_run_cut_off_mid_ingest_is_finished_on_the_next_start(
    tmp_path: Path, embedder: Embedder
) -> None:
    data = tmp_path / "data"
    with pytest.raises(KeyboardInterrupt):
        start(data, FailingEmbedder(embedder))
    clean = start(tmp_path / "clean", embedder)
    app = start(data, embedder)
    try:
        assert state_of(app) == state_of(clean) and state_of(app).sections > 50
        assert [r.show for r in app.refreshed] == [SHOW] and app.not_refreshed == []
        assert app.bible.interrupted() == {}
    finally:
        app.close()
        clean.close()
    again = start(data, embedder)  # converged: the next start has nothing left to do
    assert again.report is None and again.refreshed == [] and again.reconciled == []
    again.close()


def test_a_show_cut_off_mid_ingest_is_listed_as_unfinished_until_the_next_start(
    tmp_path: Path, embedder: Embedder
) -> None:
    data = tmp_path / "data"
    with pytest.raises(KeyboardInterrupt):
        start(data, FailingEmbedder(embedder))
    settings = settings_for(data)
    assert compose.list_shows(settings) == ([SHOW], [SHOW])  # there, and known unfinished
    start(data, embedder).close()
    assert compose.list_shows(settings) == ([SHOW], [])


def test_a_re_ingest_cut_off_is_finished_from_the_folder_it_was_reading(
    tmp_path: Path, embedder: Embedder
) -> None:
    app = start(tmp_path / "data", embedder)
    folder = bible_folder(app.settings)
    extra = [folder / "rules" / f"extra_{i}.md" for i in range(12)]
    for i, path in enumerate(extra):
        path.write_text(f"---\ntype: rule\nname: Extra {i}\n---\n# Extra {i}\n\nText {i}.\n")
    app.close()
    store = compose.open_bible(settings_for(tmp_path / "data"), FailingEmbedder(embedder))
    with pytest.raises(KeyboardInterrupt):
        store.ingest(folder, SHOW)
    store.close()
    again = start(tmp_path / "data", embedder)
    try:
        assert {f"rules/extra_{i}.md" for i in range(12)} <= set(again.bible.sections(SHOW))
        assert [r.added for r in again.refreshed] == [12]
        assert again.bible.interrupted() == {}
    finally:
        again.close()


def test_a_half_made_sample_copy_is_never_the_bible(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path / "data")
    copied: list[str] = []
    real_copy = shutil.copyfile

    def copy_then_die(src: Any, dst: Any, **kw: Any) -> Any:
        if len(copied) == 5:
            raise KeyboardInterrupt("killed mid-copy")
        copied.append(str(src))
        return real_copy(src, dst, **kw)

    monkeypatch.setattr(shutil, "copyfile", copy_then_die)
    with pytest.raises(KeyboardInterrupt):
        start(settings.data_dir, embedder)
    monkeypatch.undo()
    assert not bible_folder(settings).exists()  # never under the show's name half-made
    # what a SIGKILL would leave (no cleanup ran): a hidden partial copy beside it
    stale = settings.bibles_dir / f".{SHOW}.killed.partial"
    shutil.copytree(SAMPLE / "characters", stale / "characters")
    app = start(settings.data_dir, embedder)
    try:
        assert files_of(bible_folder(settings)) == SAMPLE_FILES
        assert leftovers(settings) == [] and not stale.exists()
        assert app.report is not None and app.report.files == len(SAMPLE_FILES)
    finally:
        app.close()
    assert copy_tree_atomically(SAMPLE, bible_folder(settings)) is False  # there: not copied


# ---- canon add and undo ----------------------------------------------------------------------
def test_canon_files_are_flushed_before_the_rename_and_their_folder_after(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    pitch, _ = seeded(data, embedder)
    app = start(data, embedder)
    room = bible_folder(app.settings) / "room"
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: Any, dst: Any, **kw: Any) -> None:
        events.append(("rename", str(dst)))
        real_replace(src, dst, **kw)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    try:
        added = reply(app, "add", pitch)
        assert added.kind == "canon", added.text
        path = str(bible_folder(app.settings).resolve() / added.data["file"])
        renamed = events.index(("rename", path))
        written = [e for e in events[:renamed] if e[0] == "fsync" and e[1].endswith(".tmp")]
        assert written and "room/." in written[-1][1]  # the temporary file, flushed first
        assert ("fsync", str(room.resolve())) in events[renamed:]  # then the rename, flushed
        events.clear()
        assert reply(app, "undo").kind == "canon"
        # the file is gone and room/ with it: the bible folder's entry is flushed
        assert ("fsync", str(bible_folder(app.settings).resolve())) in events
        assert not room.exists()
    finally:
        monkeypatch.undo()
        app.close()


def test_a_promoted_file_with_no_promotion_is_recorded_and_undo_reaches_it(
    tmp_path: Path, embedder: Embedder
) -> None:
    """What an older version left when killed between the file and the ledger (and what a
    writer who puts a promoted file back by hand leaves): canon that undo could not reach."""
    data = tmp_path / "data"
    pitch, _ = seeded(data, embedder)
    app = start(data, embedder)
    ledger = app.room.services.ledger
    p = ledger.pitches.by_id(int(pitch))
    assert p is not None
    bs = ledger.log.brainstorm_by_id(p.brainstorm_id)
    draft = pitch_draft(p.id, p.author, p.text, bs, "ana", "2024-05-01")
    folder = bible_folder(app.settings)
    (folder / "room").mkdir()
    (folder / draft.rel_path).write_text(draft.text)
    (folder / "room" / f".{Path(draft.rel_path).name}.abc123.tmp").write_text(draft.text[:40])
    app.bible.ingest(folder, SHOW)
    app.close()

    app = start(data, embedder)
    try:
        assert state_of(app).active == [("pitch", p.id, draft.rel_path)]
        assert leftovers(app.settings) == []
        [settled] = app.reconciled
        assert settled.recorded == [draft.rel_path] and settled.removed == [] and settled.cleared
        [row] = app.room.services.ledger.promotions.of_show(SHOW)
        assert row.approved_by == "ana"
        audit = app.room.services.ledger.promotions.audit_log(SHOW)[-1]
        assert (audit.action, audit.actor, audit.detail["change"]) == (
            "canon.reconcile",
            "start-up check",
            "recorded",
        )
        again = reply(app, "add", pitch)
        assert again.kind == "error" and "already in the" in again.text
        assert reply(app, "undo").kind == "canon"  # undo reaches it
        assert files_of(folder) == SAMPLE_FILES
        assert reply(app, "undo").kind == "error"  # and nothing else is left
    finally:
        app.close()


def test_a_start_with_nothing_to_settle_changes_nothing(tmp_path: Path, embedder: Embedder) -> None:
    data = tmp_path / "data"
    pitch, _ = seeded(data, embedder)
    app = start(data, embedder)
    assert reply(app, "add", pitch).kind == "canon"
    before = state_of(app)
    audit = len(app.room.services.ledger.promotions.audit_log(SHOW))
    app.close()
    app = start(data, embedder)
    try:
        assert state_of(app) == before
        assert len(app.room.services.ledger.promotions.audit_log(SHOW)) == audit
        assert app.reconciled == []
    finally:
        app.close()


# ---- the bible folder's lock -----------------------------------------------------------------
PROBE = (
    "import fcntl, os, sys\n"
    "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
    "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept OSError:\n    sys.exit(3)\n"
)


def locked_elsewhere(folder: Path) -> bool:
    """Does some process hold the folder's lock? Asked from another process, which the
    lock must keep out."""
    probe = subprocess.run([sys.executable, "-c", PROBE, str(folder)], check=False)
    assert probe.returncode in (0, 3), probe
    return probe.returncode == 3


class ProbingEmbedder:
    """The real embedder, asking on each call whether the bible folder is locked."""

    def __init__(self, inner: Embedder, folder: Path, seen: list[bool]) -> None:
        self._inner, self._folder, self._seen = inner, folder, seen

    def embed(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        if texts and self._folder.exists():
            self._seen.append(locked_elsewhere(self._folder))
        return self._inner.embed(texts, progress)


def test_ingest_and_canon_changes_hold_the_bible_folders_lock(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    pitch, _ = seeded(data, embedder)
    folder = bible_folder(settings_for(data))
    during_ingest: list[bool] = []
    app = start(data, ProbingEmbedder(embedder, folder, during_ingest))
    promotions = app.room.services.ledger.promotions
    during_ledger: list[bool] = []
    for name in ("add", "mark_undone"):
        real = getattr(promotions, name)

        def spy(*a: Any, _real: Any = real, **kw: Any) -> Any:
            during_ledger.append(locked_elsewhere(folder))
            return _real(*a, **kw)

        monkeypatch.setattr(promotions, name, spy)
    try:
        assert not locked_elsewhere(folder)
        assert reply(app, "add", pitch).kind == "canon"
        assert reply(app, "undo").kind == "canon"
        assert during_ledger == [True, True]  # the ledger's step is inside the lock
        assert during_ingest and all(during_ingest)  # so is every ingest
        assert not locked_elsewhere(folder)  # and it is let go
    finally:
        app.close()


def test_a_file_written_whole_gets_the_mode_open_would_give_and_keeps_its_own(
    tmp_path: Path,
) -> None:
    """mkstemp makes owner-only files: canon written that way would be unreadable to a backup
    or an ingest run as another user."""
    from memory.durable import write_atomically

    old = os.umask(0o022)
    try:
        new = tmp_path / "room" / "new.md"
        write_atomically(new, "# New\n")
        assert new.stat().st_mode & 0o777 == 0o644
        kept = tmp_path / "kept.md"
        kept.write_text("# Old\n")
        kept.chmod(0o640)
        write_atomically(kept, "# Rewritten\n")
        assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_text() == "# Rewritten\n"
    finally:
        os.umask(old)
