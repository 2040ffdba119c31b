"""Crashes lose nothing, step by step and in one process: the first run's copy and ingest.
tests/test_kill.py kills real processes at random points."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot import compose
from memory.bible import Embedder
from memory.durable import copy_tree_atomically
from tests.crash_state import (
    SAMPLE_FILES,
    bible_folder,
    files_of,
    leftovers,
    start,
    state_of,
)
from tests.kill_child import SAMPLE, SHOW, settings_for


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
    assert again.report is None and again.refreshed == []
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
