"""Progress on stderr: sizes in MB with speed and time left for bytes, counts for items."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from agents.llm.model_files import assemble_bundled
from bot.progress import progress_bars


def test_model_assembly_shows_megabytes_speed_and_time_left(tmp_path: Path) -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120, color_system=None)
    with progress_bars(console) as progress:
        assemble_bundled(tmp_path / "models", progress)
        progress("reading", 28, 28)
    shown = buf.getvalue()
    assert "assembling model" in shown and "MB" in shown and "MB/s" in shown
    assert "253113024" not in shown  # no raw byte counts
    assert "28/28" in shown  # counted stages keep their counts
