"""Backup and restore of a room's data dir on real SQLite, real Chroma and the real MiniLM
embedder. A scripted model stands in for generation (brainstorm openings); no model output is
compared, only what the stores hold and what search returns."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.compose import open_bible
from bot.settings import Settings
from memory.bible import SOURCE_KEY
from memory.embeddings import MiniLMEmbedder
from tests.conftest import SAMPLE, SHOW


def test_a_moved_data_dir_still_finds_its_bible_folder(
    settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path
) -> None:
    folder = settings.bibles_dir / SHOW
    shutil.copytree(SAMPLE, folder)
    bible = open_bible(settings, embedder)
    bible.ingest(folder, SHOW)
    stored = bible._collection(SHOW).metadata[SOURCE_KEY]
    bible.close()
    assert stored == f"bibles/{SHOW}"  # not the absolute path it had when ingested

    moved = settings.model_copy(update={"data_dir": tmp_path / "moved" / "data"})
    moved.data_dir.parent.mkdir()
    settings.data_dir.rename(moved.data_dir)
    bible = open_bible(moved, embedder)
    try:
        assert bible.source_dir(SHOW) == moved.data_dir.resolve() / "bibles" / SHOW
        # what an older version wrote, an absolute path, is still read as it is
        old = str(tmp_path / "old-place")
        bible._collection(SHOW).modify(metadata={"show": SHOW, SOURCE_KEY: old, "index_format": 2})
        assert bible.source_dir(SHOW) == Path(old)
    finally:
        bible.close()
