"""What the crash tests compare: a data dir's bible folder, index and ledger, read back after a
start, and the set-up they share (a first run with two pitches in the ledger)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from agents.llm.scripted import ScriptedBackend
from bot.compose import App, build_app
from bot.settings import Settings
from memory.bible import Embedder
from memory.history import ConversationKey
from memory.ledger import Actor
from tests.kill_child import SAMPLE, SHOW, settings_for

PITCHES = (
    "The fog bell was recast from the wreck of the first ferry",
    "Nell keeps a second logbook that only Quill has read",
)


@dataclass(frozen=True)
class State:
    """What a start must converge on: sections in the index, the bible's files (by content)
    and the promotions in effect."""

    sections: int
    files: dict[str, str]
    active: list[tuple[str, int, str]]


def start(data_dir: Path, embedder: Embedder, port: int | None = None) -> App:
    """A start of the room on ``data_dir`` (the model scripted: nothing here generates)."""
    settings = settings_for(data_dir, port)
    return build_app(settings, engine=ScriptedBackend(), embedder=embedder, show=SHOW)


def seeded(data_dir: Path, embedder: Embedder, port: int | None = None, n: int = 2) -> list[str]:
    """A first run, then a brainstorm with ``n`` pitches; their numbers, as writers type them."""
    app = start(data_dir, embedder, port)
    try:
        log = app.room.services.ledger.log
        key = ConversationKey("terminal", "local", "writers", "t1")
        bs = log.open_brainstorm(key, SHOW, "what the bell hides", Actor("dana", "dana"))
        texts = [PITCHES[i % len(PITCHES)] + f" ({i + 1})" for i in range(n)]
        made = [log.record(bs, Actor("sam", "sam"), t, pitch=t) for t in texts]
        return [str(p.id) for p in made if p is not None]
    finally:
        app.close()


def bible_folder(settings: Settings) -> Path:
    return settings.bibles_dir / SHOW


def files_of(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.md"))
    }


def state_of(app: App) -> State:
    promotions = app.room.services.ledger.promotions.of_show(SHOW)
    return State(
        sections=app.bible.count(SHOW),
        files=files_of(bible_folder(app.settings)),
        active=[(p.source_kind, p.source_id, p.file) for p in promotions if p.undone_at is None],
    )


def leftovers(settings: Settings) -> list[str]:
    """What a killed write or copy left behind: hidden files in the bible folder, half-made
    copies beside it."""
    folder = bible_folder(settings)
    hidden = [p.relative_to(folder).as_posix() for p in folder.rglob(".*")]
    return hidden + [p.name for p in settings.bibles_dir.glob(".*")]


SAMPLE_FILES = files_of(SAMPLE)
