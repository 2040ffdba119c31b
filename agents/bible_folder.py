"""The show's bible folder, when the room may write into it: canon promotions and script
imports change the files (the source of truth), never the bundled sample in the program's
own folder, and never a folder the bot cannot write to. Messages name no server path."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from agents.errors import BadRequest
from memory.bible import BibleStore


def writable_folder(bible: BibleStore, show: str, read_only: Sequence[Path], doing: str) -> Path:
    """The folder, or a BadRequest saying why the room cannot ``doing`` ('add to it')."""
    folder = bible.source_dir(show)
    if folder is None or not folder.is_dir():
        raise BadRequest(
            f"I don't know where the {show} bible's files are, so I can't {doing}. "
            f"Re-ingest it once with: writersroom bible ingest DIR --show {show}"
        )
    resolved = folder.resolve()
    if any(resolved == p or p in resolved.parents for p in (r.resolve() for r in read_only)):
        raise BadRequest(
            f"The {show} bible is the bundled sample in the program's own folder, which "
            "is read-only here, so nothing changed. Ingest a copy of it from a folder of "
            "your own."
        )
    if not os.access(folder, os.W_OK):
        raise BadRequest(
            f"The bot cannot write to the {show} bible folder, so nothing changed. Ask "
            "whoever runs the bot to let it write there."
        )
    return folder
