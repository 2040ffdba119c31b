"""Shared set-up for the benchmarks: settings from the environment, a scratch data dir."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bot.settings import Settings


def bench_settings(**overrides: object) -> Settings:
    """Settings as the room would read them; the data dir defaults to a shared bench cache."""
    data = os.environ.get("WR_DATA_DIR") or str(Path(tempfile.gettempdir()) / "writersroom-bench")
    return Settings(data_dir=Path(data), **overrides)  # type: ignore[arg-type]


def fmt(value: float) -> str:
    return f"{value:8.1f}"
