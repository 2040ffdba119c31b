"""Server mode: the same bible code against a Chroma server started on loopback."""

from __future__ import annotations

from bot.compose import open_bible
from bot.settings import Settings
from memory.embeddings import MiniLMEmbedder
from tests.conftest import SAMPLE, SHOW


def test_bible_through_a_chroma_server(
    settings: Settings, embedder: MiniLMEmbedder, chroma_server: int
) -> None:
    remote = settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": chroma_server})
    bible = open_bible(remote, embedder)
    report = bible.ingest(SAMPLE, SHOW)
    assert report.chunks > 50 and not report.skipped
    assert bible.shows() == [SHOW]
    hits = bible.search(SHOW, "who keeps the lighthouse chapel", k=5)
    assert "characters/silas_quill.md" in {h.chunk.file for h in hits}
    # nothing was written to the embedded store
    assert not (settings.data_dir / "chroma").exists()
