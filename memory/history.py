"""Thread history in SQLite: what was said in each conversation, so follow-ups keep context.

A conversation is (platform, workspace, channel, thread), read for one show: a channel that
is linked to another show starts afresh there, so one show's canon quoted in a thread never
becomes context for another's. A writer's turn and the bot's reply
are written in one transaction, so a failed or timed-out request leaves no half turn behind.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from memory.sqlite import connect, migrate, transaction

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE turns (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        thread TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('writer', 'assistant')),
        author TEXT NOT NULL,
        text TEXT NOT NULL,
        prompt_text TEXT NOT NULL,
        canon_ids TEXT NOT NULL DEFAULT '[]',
        tokens INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX turns_by_conversation ON turns (platform, workspace, channel, thread, id);
    """,
    # Turns from before shows were part of the key keep '' and are read by no show.
    2: """
    ALTER TABLE turns ADD COLUMN show TEXT NOT NULL DEFAULT '';
    DROP INDEX turns_by_conversation;
    CREATE INDEX turns_by_conversation ON turns (platform, workspace, channel, thread, show, id);
    """,
    # A command's typed result, so a later command finds it ('shots' the thread's last scene)
    # without parsing the text it was shown as.
    3: """
    ALTER TABLE turns ADD COLUMN kind TEXT NOT NULL DEFAULT '';
    ALTER TABLE turns ADD COLUMN result TEXT;
    """,
}


@dataclass(frozen=True)
class ConversationKey:
    platform: str
    workspace: str
    channel: str
    thread: str


@dataclass(frozen=True)
class Turn:
    """One message in a thread.

    ``text`` is what the person wrote; ``prompt_text`` is what the model saw for this turn
    (the writer's words plus the canon first quoted in it). Replaying ``prompt_text`` keeps
    the prompt prefix identical between turns, so llama.cpp can reuse its KV cache.
    """

    role: str
    author: str
    text: str
    prompt_text: str
    tokens: int
    canon_ids: tuple[str, ...] = field(default_factory=tuple)
    created_at: float = 0.0
    kind: str = ""  # a command reply's kind ('scene', 'shots'...); '' for talk
    result: str | None = None  # that reply's typed result, as JSON


@dataclass(frozen=True)
class StoredResult:
    """A command's typed result as the thread keeps it: its kind, its JSON, and when."""

    kind: str
    result: str
    created_at: float


class HistoryStore:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = connect(path)
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            migrate(self._db, _MIGRATIONS)

    def append(self, key: ConversationKey, show: str, turns: Sequence[Turn]) -> None:
        """Write turns atomically: all of them or none. ``show``: the show they were said
        about ('' where the channel has none)."""
        now = time.time()
        rows = [
            (
                key.platform,
                key.workspace,
                key.channel,
                key.thread,
                show,
                t.role,
                t.author,
                t.text,
                t.prompt_text,
                json.dumps(list(t.canon_ids)),
                t.tokens,
                t.created_at or now,
                t.kind,
                t.result,
            )
            for t in turns
        ]
        with self._lock, transaction(self._db):
            self._db.executemany(
                "INSERT INTO turns (platform, workspace, channel, thread, show, role, author,"
                " text, prompt_text, canon_ids, tokens, created_at, kind, result)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def latest_result(
        self, key: ConversationKey, show: str, kinds: Sequence[str]
    ) -> tuple[str, str] | None:
        """The newest typed result of one of ``kinds`` in the thread: (kind, its JSON)."""
        found = self.latest_record(key, show, kinds)
        return None if found is None else (found.kind, found.result)

    def latest_record(
        self, key: ConversationKey, show: str, kinds: Sequence[str]
    ) -> StoredResult | None:
        """The newest typed result of one of ``kinds`` in the thread, with when it was made."""
        if not kinds:
            return None
        marks = ", ".join("?" for _ in kinds)
        with self._lock:
            row = self._db.execute(
                "SELECT kind, result, created_at FROM turns"
                " WHERE platform=? AND workspace=? AND channel=? AND thread=? AND show=?"
                f" AND result IS NOT NULL AND kind IN ({marks}) ORDER BY id DESC LIMIT 1",
                (key.platform, key.workspace, key.channel, key.thread, show, *kinds),
            ).fetchone()
        return None if row is None else StoredResult(str(row[0]), str(row[1]), float(row[2]))

    def conversations(self, platform: str, channel: str, thread: str) -> list[ConversationKey]:
        """Every conversation with this platform, channel and thread, whatever its workspace:
        a thread named the way links name it ('slack:C123/1700.1') carries no workspace."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT workspace FROM turns WHERE platform=? AND channel=? AND thread=?"
                " ORDER BY workspace",
                (platform, channel, thread),
            ).fetchall()
        return [ConversationKey(platform, str(r[0]), channel, thread) for r in rows]

    def turns(self, key: ConversationKey, show: str, token_budget: int | None = None) -> list[Turn]:
        """The thread's turns about ``show``, oldest first; with a budget, only the newest
        that fit."""
        with self._lock:
            rows = self._db.execute(
                "SELECT role, author, text, prompt_text, tokens, canon_ids, created_at FROM turns"
                " WHERE platform=? AND workspace=? AND channel=? AND thread=? AND show=?"
                " ORDER BY id DESC",
                (key.platform, key.workspace, key.channel, key.thread, show),
            ).fetchall()
        kept: list[Turn] = []
        used = 0
        for role, author, text, prompt_text, tokens, canon, created in rows:
            if token_budget is not None and used + tokens > token_budget:
                break
            used += tokens
            kept.append(
                Turn(role, author, text, prompt_text, tokens, tuple(json.loads(canon)), created)
            )
        kept.reverse()
        return kept

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM turns").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
