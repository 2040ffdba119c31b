"""The bible in real Chroma with real embeddings: ingest, re-ingest, search, lookup."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.compose import open_bible
from bot.settings import Settings
from memory.bible import BibleStore, InvalidShowName, StoreBusy, UnknownShow
from memory.embeddings import MiniLMEmbedder
from tests.conftest import SHOW


@pytest.fixture
def store(settings: Settings, embedder: MiniLMEmbedder) -> Iterator[BibleStore]:
    bible = open_bible(settings, embedder)
    yield bible
    bible.close()


def ids(store: BibleStore, show: str) -> set[str]:
    return set(store._collection(show).get()["ids"])


def test_ingest_reports_and_progress(store: BibleStore, bible_copy: Path) -> None:
    seen: list[str] = []
    report = store.ingest(bible_copy, SHOW, lambda stage, done, total: seen.append(stage))
    assert report.files == 28 and report.chunks == store.count(SHOW) > 50
    assert report.added == report.chunks and not report.skipped
    assert {"reading", "embedding", "writing"} <= set(seen)


def test_reingest_is_idempotent(store: BibleStore, bible_copy: Path) -> None:
    store.ingest(bible_copy, SHOW)
    before = ids(store, SHOW)
    again = store.ingest(bible_copy, SHOW)
    assert (again.added, again.updated, again.removed) == (0, 0, 0)
    assert again.unchanged == again.chunks
    assert ids(store, SHOW) == before


def test_changed_and_deleted_files(store: BibleStore, bible_copy: Path) -> None:
    store.ingest(bible_copy, SHOW)
    toby = bible_copy / "characters/toby_vell.md"
    toby_ids = {
        i for i in ids(store, SHOW) if store.chunk(SHOW, i).file == "characters/toby_vell.md"
    }
    assert toby_ids
    toby.unlink()
    nell = bible_copy / "characters/nell_kessler.md"
    nell.write_text(nell.read_text().replace("Sharp, bored", "Sharp, restless"))
    report = store.ingest(bible_copy, SHOW)
    assert report.removed == len(toby_ids) and report.updated == 1
    assert not toby_ids & ids(store, SHOW)
    assert store.lookup(SHOW, "Toby") is None
    hits = store.search(SHOW, "restless daughter", k=3)
    assert any("restless" in h.chunk.text for h in hits)


def test_malformed_file_is_skipped_and_its_last_good_version_kept(
    store: BibleStore, bible_copy: Path
) -> None:
    store.ingest(bible_copy, SHOW)
    before = ids(store, SHOW)
    broken = bible_copy / "characters/ada_okonkwo.md"
    broken.write_text(broken.read_text().replace("aliases: [Ada,", "aliases: [Ada,\n  - oops: ["))
    report = store.ingest(bible_copy, SHOW)
    assert [e.path for e in report.skipped] == ["characters/ada_okonkwo.md"]
    assert report.skipped[0].line is not None
    assert ids(store, SHOW) == before  # nothing lost, nothing half-written
    assert store.lookup(SHOW, "Ada") is not None


def test_search_finds_by_meaning_keyword_and_alias(store: BibleStore, bible_copy: Path) -> None:
    store.ingest(bible_copy, SHOW)
    top = store.search(SHOW, "who keeps the chapel by the lighthouse", k=5)
    assert "characters/silas_quill.md" in {h.chunk.file for h in top}
    assert all(-1.0 <= h.score <= 1.0 for h in top)
    by_alias = store.search(SHOW, "what is Cap afraid of", k=5)
    assert by_alias[0].chunk.file == "characters/maren_kessler.md"


def test_lookup_by_name_or_alias_and_nearest(store: BibleStore, bible_copy: Path) -> None:
    store.ingest(bible_copy, SHOW)
    entity, chunks = store.lookup(SHOW, "the Lamplighter", "character") or (None, [])
    assert entity is not None and entity.name == "Silas Quill"
    arc = store.lookup(SHOW, "the Lamplighter")
    assert arc is not None and arc[0].type == "arc"  # its own name beats an alias
    assert chunks[0].heading == "Silas Quill > Public face"
    assert "Maren Kessler" in store.nearest_names(SHOW, "Marin Kesler", "character")


def test_unknown_and_invalid_show(store: BibleStore, bible_copy: Path) -> None:
    store.ingest(bible_copy, SHOW)
    with pytest.raises(UnknownShow, match="Known shows: lantern-line"):
        store.search("other-show", "anything")
    with pytest.raises(InvalidShowName):
        store.search("!", "anything")
    with pytest.raises(FileNotFoundError):
        store.ingest(bible_copy / "missing", SHOW)
    empty = bible_copy / "empty"
    empty.mkdir()
    before = store.count(SHOW)
    with pytest.raises(FileNotFoundError, match=r"No \.md files"):
        store.ingest(empty, SHOW)  # a wrong folder must not empty the bible
    assert store.count(SHOW) == before


def test_shows_are_isolated(store: BibleStore, bible_copy: Path, tmp_path: Path) -> None:
    store.ingest(bible_copy, SHOW)
    other = tmp_path / "other"
    (other / "c").mkdir(parents=True)
    (other / "c/zed.md").write_text("---\ntype: character\nname: Zed Quint\n---\n# Zed\nA pilot.\n")
    store.ingest(other, "other-show")
    assert store.lookup("other-show", "Maren") is None
    assert {h.chunk.file for h in store.search("other-show", "ferry captain", k=5)} == {"c/zed.md"}


def test_a_second_process_cannot_open_the_embedded_store(
    store: BibleStore, settings: Settings, embedder: MiniLMEmbedder
) -> None:
    with pytest.raises(StoreBusy, match="Another writersroom process is using the bible store"):
        open_bible(settings, embedder)
    store.close()
    open_bible(settings, embedder).close()  # free again once the owner closes
