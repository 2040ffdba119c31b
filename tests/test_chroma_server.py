"""Server mode: the same bible code against a Chroma server started on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.compose import open_bible
from bot.settings import Settings
from memory.embeddings import MiniLMEmbedder
from tests.conftest import SAMPLE, SHOW


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("the chroma command is not installed next to this Python")
    port = free_port()
    proc = subprocess.Popen(
        [
            exe,
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the Chroma server did not start within 30 s")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
