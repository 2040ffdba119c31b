"""Shared set-up for the benchmarks: a scratch data dir, the model from a shared cache."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from agents.llm.model_files import BUNDLED_CHAT_FORMAT, assemble_bundled
from agents.messages import Message
from bot.compose import App
from bot.settings import Settings, default_sample_bible


def bench_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings as the room reads them (WR_ variables apply), with a fresh data dir.

    The bundled model is assembled once into a cache shared by benchmark runs, so each run
    measures the room and not the copying of 240 MB.
    """
    settings = Settings(data_dir=data_dir, **overrides)  # type: ignore[arg-type]
    if settings.model_path is None:
        cache = Path(os.environ.get("WR_BENCH_CACHE", Path(tempfile.gettempdir()) / "wr-bench"))
        settings = settings.model_copy(
            update={
                "model_path": assemble_bundled(cache / "models"),
                "chat_format": settings.chat_format or BUNDLED_CHAT_FORMAT,
            }
        )
    return settings


def cases_from(
    argv: list[str] | None, doc: str, path: Path, noun: str, verbose: str
) -> tuple[list[dict[str, Any]], bool]:
    """A benchmark's command line: its YAML cases (``--limit`` N of them) and ``-v``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help=f"only the first N {noun}")
    parser.add_argument("-v", "--verbose", action="store_true", help=verbose)
    args = parser.parse_args(argv)
    cases: list[dict[str, Any]] = yaml.safe_load(path.read_text())
    return (cases[: args.limit] if args.limit else cases), args.verbose


def model_runs() -> Iterator[tuple[str, Settings]]:
    """The bundled model, then WR_MODEL_PATH's when it is set: each with a label and its
    own scratch data dir (removed after the run)."""
    runs: list[tuple[str, dict[str, object]]] = [("bundled model", {"model_path": None})]
    if os.environ.get("WR_MODEL_PATH"):
        runs.append((f"WR_MODEL_PATH={os.environ['WR_MODEL_PATH']}", {}))
    for label, overrides in runs:
        with tempfile.TemporaryDirectory() as tmp:
            yield label, bench_settings(Path(tmp), **overrides)


def ingest_sample(app: App, show: str) -> Path:
    """The sample bible copied into the run's data dir and ingested as ``show``."""
    folder = app.settings.data_dir / "bible"
    shutil.copytree(default_sample_bible(), folder)
    app.bible.ingest(folder, show)
    return folder


def fmt(value: float) -> str:
    return f"{value:8.1f}"


def message(text: str, thread: str, show: str) -> Message:
    """A writer's question to the bot about ``show`` in a bench thread."""
    return Message(
        platform="bench",
        show=show,
        workspace="w",
        channel="c",
        thread=thread,
        author="dana",
        text=text,
        mentions_bot=True,
    )
