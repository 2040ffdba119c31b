"""What the ledger's three views share: the schema and its migrations, the record types,
and the one open SQLite file (see ``memory.ledger``)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memory.history import ConversationKey
from memory.sqlite import connect, migrate, transaction

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE brainstorms (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        platform TEXT NOT NULL, workspace TEXT NOT NULL, channel TEXT NOT NULL,
        thread TEXT NOT NULL,
        show TEXT NOT NULL,
        topic TEXT NOT NULL,
        opened_by_id TEXT NOT NULL, opened_by TEXT NOT NULL,
        link TEXT NOT NULL DEFAULT '',
        canon_ids TEXT NOT NULL DEFAULT '[]',
        opened_at REAL NOT NULL,
        UNIQUE (platform, workspace, channel, thread)
    );
    CREATE INDEX brainstorms_by_show ON brainstorms (show, id);
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        brainstorm_id INTEGER NOT NULL REFERENCES brainstorms (id),
        role TEXT NOT NULL CHECK (role IN ('writer', 'bot')),
        kind TEXT NOT NULL,
        author_id TEXT NOT NULL, author TEXT NOT NULL,
        text TEXT NOT NULL,
        message_ref TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    );
    CREATE INDEX messages_by_brainstorm ON messages (brainstorm_id, id);
    CREATE TABLE pitches (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        brainstorm_id INTEGER NOT NULL REFERENCES brainstorms (id),
        message_id INTEGER NOT NULL REFERENCES messages (id),
        author_id TEXT NOT NULL, author TEXT NOT NULL,
        text TEXT NOT NULL,
        message_ref TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    );
    CREATE INDEX pitches_by_ref ON pitches (message_ref);
    CREATE TABLE votes (
        pitch_id INTEGER NOT NULL REFERENCES pitches (id),
        voter_id TEXT NOT NULL, voter TEXT NOT NULL,
        token TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (pitch_id, voter_id, token)
    );
    CREATE TABLE wraps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        brainstorm_id INTEGER NOT NULL REFERENCES brainstorms (id),
        by_id TEXT NOT NULL, by_name TEXT NOT NULL,
        text TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE promotions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        show TEXT NOT NULL,
        source_kind TEXT NOT NULL CHECK (source_kind IN ('pitch', 'wrap')),
        source_id INTEGER NOT NULL,
        file TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        approved_by_id TEXT NOT NULL, approved_by TEXT NOT NULL,
        created_at REAL NOT NULL,
        undone_at REAL, undone_by TEXT
    );
    CREATE INDEX promotions_by_show ON promotions (show, id);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        show TEXT NOT NULL,
        actor_id TEXT NOT NULL, actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
    )
    """,
}


@dataclass(frozen=True)
class Actor:
    """Who did something: a stable platform ID (for votes and permissions) and a name."""

    id: str
    name: str


@dataclass(frozen=True)
class Brainstorm:
    id: int
    key: ConversationKey
    show: str
    topic: str
    opened_by: str
    link: str
    canon_ids: tuple[str, ...]
    opened_at: float


# What a thread message was: said to the room, a pitch, addressed to the bot, a command, or
# the bot's own reply. Wrap-ups read decisions and open questions from room talk only.
MESSAGE_KINDS = ("chat", "pitch", "ask", "command", "bot")


@dataclass(frozen=True)
class LedgerMessage:
    id: int
    role: str
    kind: str
    author_id: str
    author: str
    text: str
    created_at: float


@dataclass(frozen=True)
class Pitch:
    id: int
    brainstorm_id: int
    author_id: str
    author: str
    text: str
    created_at: float
    voters: tuple[str, ...]  # names, one per writer who voted

    @property
    def votes(self) -> int:
        return len(self.voters)


@dataclass(frozen=True)
class Wrap:
    id: int
    brainstorm_id: int
    by: str
    text: str
    data: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class Promotion:
    id: int
    show: str
    source_kind: str
    source_id: int
    file: str
    content_hash: str
    approved_by: str
    created_at: float
    undone_at: float | None


@dataclass(frozen=True)
class AuditEntry:
    at: float
    show: str
    actor: str
    action: str
    detail: dict[str, Any]


class AlreadyBrainstorm(ValueError):
    """The thread already holds a brainstorm: one thread is one brainstorm."""


class LedgerFile:
    """The one open ledger file behind the three views, safe to share between the threads of
    one process: a single connection, and a single lock that every read and write holds, so
    the views never interleave statements on it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.db = connect(path)
        with self.lock:
            migrate(self.db, _MIGRATIONS)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and one transaction: a change and its audit row land together."""
        with self.lock, transaction(self.db):
            yield self.db

    def audit(self, show: str, actor: Actor, action: str, **detail: Any) -> None:
        """Add an audit row to the caller's open transaction (see `write`); outside one it
        would commit on its own and could tell of a change that was rolled back."""
        if not self.db.in_transaction:
            raise RuntimeError("LedgerFile.audit must run inside the change's transaction")
        self.db.execute(
            "INSERT INTO audit (at, show, actor_id, actor, action, detail) VALUES (?,?,?,?,?,?)",
            (time.time(), show, actor.id, actor.name, action, json.dumps(detail, sort_keys=True)),
        )

    def close(self) -> None:
        with self.lock:
            self.db.close()
