"""The ideas ledger: what a room said and decided in its brainstorm threads.

Brainstorms, every writer's message, pitches, votes, wrap-ups and promotions into canon live
in one SQLite file with numbered migrations. Every change to brainstorms, pitches, votes,
wrap-ups and canon is written together with an audit row (who, what, when) in one
transaction, so the log and the data cannot disagree; refused promotions are audited too.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
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
    pass


_BRAINSTORM_COLS = (
    "id, platform, workspace, channel, thread, show, topic, opened_by, link, canon_ids, opened_at"
)
_PROMOTION_COLS = (
    "id, show, source_kind, source_id, file, content_hash, approved_by, created_at, undone_at"
)


def _brainstorm(row: Sequence[Any]) -> Brainstorm:
    key = ConversationKey(row[1], row[2], row[3], row[4])
    return Brainstorm(
        row[0], key, row[5], row[6], row[7], row[8], tuple(json.loads(row[9])), row[10]
    )


def _promotion(row: Sequence[Any]) -> Promotion:
    return Promotion(*row)


class Ledger:
    """Safe to share between the threads of one process."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = connect(path)
        with self._lock:
            migrate(self._db, _MIGRATIONS)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _audit(self, show: str, actor: Actor, action: str, **detail: Any) -> None:
        self._db.execute(
            "INSERT INTO audit (at, show, actor_id, actor, action, detail) VALUES (?,?,?,?,?,?)",
            (time.time(), show, actor.id, actor.name, action, json.dumps(detail, sort_keys=True)),
        )

    # ---- brainstorms -----------------------------------------------------------------------
    def open_brainstorm(
        self,
        key: ConversationKey,
        show: str,
        topic: str,
        by: Actor,
        *,
        link: str = "",
        canon_ids: Sequence[str] = (),
    ) -> Brainstorm:
        with self._lock:
            try:
                with transaction(self._db):
                    cur = self._db.execute(
                        "INSERT INTO brainstorms (platform, workspace, channel, thread, show,"
                        " topic, opened_by_id, opened_by, link, canon_ids, opened_at)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            key.platform,
                            key.workspace,
                            key.channel,
                            key.thread,
                            show,
                            topic,
                            by.id,
                            by.name,
                            link,
                            json.dumps(list(canon_ids)),
                            time.time(),
                        ),
                    )
                    self._audit(show, by, "brainstorm.open", brainstorm=cur.lastrowid, topic=topic)
            except sqlite3.IntegrityError:
                raise AlreadyBrainstorm(topic) from None
            row = self._db.execute(
                f"SELECT {_BRAINSTORM_COLS} FROM brainstorms WHERE id=?", (cur.lastrowid,)
            ).fetchone()
        return _brainstorm(row)

    def brainstorm(self, key: ConversationKey) -> Brainstorm | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_BRAINSTORM_COLS} FROM brainstorms"
                " WHERE platform=? AND workspace=? AND channel=? AND thread=?",
                (key.platform, key.workspace, key.channel, key.thread),
            ).fetchone()
        return None if row is None else _brainstorm(row)

    def brainstorm_by_id(self, brainstorm_id: int) -> Brainstorm:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_BRAINSTORM_COLS} FROM brainstorms WHERE id=?", (brainstorm_id,)
            ).fetchone()
        return _brainstorm(row)

    def brainstorms(self, show: str) -> list[Brainstorm]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_BRAINSTORM_COLS} FROM brainstorms WHERE show=? ORDER BY id", (show,)
            ).fetchall()
        return [_brainstorm(r) for r in rows]

    def shows(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT show FROM brainstorms ORDER BY show")
            return [str(r[0]) for r in rows.fetchall()]

    # ---- messages and pitches ----------------------------------------------------------------
    def record(
        self,
        brainstorm: Brainstorm,
        author: Actor,
        text: str,
        *,
        kind: str = "chat",
        message_ref: str = "",
        pitch: str | None = None,
    ) -> Pitch | None:
        """Keep a message of the thread; with ``pitch`` it becomes a pitch in the same step."""
        if kind not in MESSAGE_KINDS:
            raise ValueError(f"unknown message kind {kind}")
        role = "bot" if kind == "bot" else "writer"
        now = time.time()
        with self._lock, transaction(self._db):
            cur = self._db.execute(
                "INSERT INTO messages (brainstorm_id, role, kind, author_id, author, text,"
                " message_ref, created_at) VALUES (?,?,?,?,?,?,?,?)",
                (brainstorm.id, role, kind, author.id, author.name, text, message_ref, now),
            )
            if pitch is None:
                return None
            made = self._db.execute(
                "INSERT INTO pitches (brainstorm_id, message_id, author_id, author, text,"
                " message_ref, created_at) VALUES (?,?,?,?,?,?,?)",
                (brainstorm.id, cur.lastrowid, author.id, author.name, pitch, message_ref, now),
            )
            pitch_id = int(made.lastrowid or 0)
            self._audit(brainstorm.show, author, "pitch.add", pitch=pitch_id, text=pitch)
        return Pitch(pitch_id, brainstorm.id, author.id, author.name, pitch, now, ())

    def messages(self, brainstorm_id: int) -> list[LedgerMessage]:
        """The thread, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, role, kind, author_id, author, text, created_at FROM messages"
                " WHERE brainstorm_id=? ORDER BY id",
                (brainstorm_id,),
            ).fetchall()
        return [LedgerMessage(*r) for r in rows]

    def _pitches(self, where: str, args: Sequence[Any]) -> list[Pitch]:
        rows = self._db.execute(
            "SELECT p.id, p.brainstorm_id, p.author_id, p.author, p.text, p.created_at,"
            " (SELECT json_group_array(name) FROM (SELECT MIN(voter) AS name FROM votes v"
            "   WHERE v.pitch_id = p.id GROUP BY voter_id ORDER BY MIN(created_at)))"
            f" FROM pitches p WHERE {where} ORDER BY p.id",
            tuple(args),
        ).fetchall()
        return [
            Pitch(
                id=r[0],
                brainstorm_id=r[1],
                author_id=r[2],
                author=r[3],
                text=r[4],
                created_at=r[5],
                voters=tuple(json.loads(r[6])),
            )
            for r in rows
        ]

    def pitch(self, pitch_id: int) -> Pitch | None:
        with self._lock:
            found = self._pitches("p.id=?", (pitch_id,))
        return found[0] if found else None

    def pitch_by_ref(self, platform: str, workspace: str, message_ref: str) -> Pitch | None:
        """The pitch a platform message carries (what a reaction points at)."""
        if not message_ref:
            return None
        with self._lock:
            found = self._pitches(
                "p.message_ref=? AND p.brainstorm_id IN"
                " (SELECT id FROM brainstorms WHERE platform=? AND workspace=?)",
                (message_ref, platform, workspace),
            )
        return found[0] if found else None

    def pitches(self, brainstorm_id: int) -> list[Pitch]:
        with self._lock:
            return self._pitches("p.brainstorm_id=?", (brainstorm_id,))

    def show_of(self, brainstorm_id: int) -> str:
        with self._lock:
            row = self._db.execute(
                "SELECT show FROM brainstorms WHERE id=?", (brainstorm_id,)
            ).fetchone()
        return str(row[0])

    # ---- votes -------------------------------------------------------------------------------
    def vote(self, pitch: Pitch, voter: Actor, token: str = "vote") -> bool:
        """Count a writer's vote; False when this writer already voted this way."""
        show = self.show_of(pitch.brainstorm_id)
        with self._lock, transaction(self._db):
            cur = self._db.execute(
                "INSERT OR IGNORE INTO votes VALUES (?,?,?,?,?)",
                (pitch.id, voter.id, voter.name, token, time.time()),
            )
            if cur.rowcount:
                self._audit(show, voter, "vote.add", pitch=pitch.id, token=token)
        return bool(cur.rowcount)

    def unvote(self, pitch: Pitch, voter: Actor, token: str | None = "vote") -> bool:
        """Take a vote back (one reaction, or with ``token=None`` all of the writer's)."""
        show = self.show_of(pitch.brainstorm_id)
        with self._lock, transaction(self._db):
            if token is None:
                cur = self._db.execute(
                    "DELETE FROM votes WHERE pitch_id=? AND voter_id=?", (pitch.id, voter.id)
                )
            else:
                cur = self._db.execute(
                    "DELETE FROM votes WHERE pitch_id=? AND voter_id=? AND token=?",
                    (pitch.id, voter.id, token),
                )
            if cur.rowcount:
                self._audit(show, voter, "vote.remove", pitch=pitch.id, token=token)
        return bool(cur.rowcount)

    # ---- wraps ---------------------------------------------------------------------------------
    def add_wrap(self, brainstorm: Brainstorm, by: Actor, text: str, data: dict[str, Any]) -> Wrap:
        now = time.time()
        with self._lock, transaction(self._db):
            cur = self._db.execute(
                "INSERT INTO wraps (brainstorm_id, by_id, by_name, text, data, created_at)"
                " VALUES (?,?,?,?,?,?)",
                (brainstorm.id, by.id, by.name, text, json.dumps(data), now),
            )
            wrap_id = int(cur.lastrowid or 0)
            self._audit(brainstorm.show, by, "wrap.add", brainstorm=brainstorm.id, wrap=wrap_id)
        return Wrap(wrap_id, brainstorm.id, by.name, text, data, now)

    def latest_wrap(self, brainstorm_id: int) -> Wrap | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, brainstorm_id, by_name, text, data, created_at FROM wraps"
                " WHERE brainstorm_id=? ORDER BY id DESC LIMIT 1",
                (brainstorm_id,),
            ).fetchone()
        if row is None:
            return None
        return Wrap(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5])

    # ---- promotions into canon -----------------------------------------------------------------
    def add_promotion(
        self,
        show: str,
        source_kind: str,
        source_id: int,
        file: str,
        content_hash: str,
        by: Actor,
    ) -> Promotion:
        now = time.time()
        with self._lock, transaction(self._db):
            cur = self._db.execute(
                "INSERT INTO promotions (show, source_kind, source_id, file, content_hash,"
                " approved_by_id, approved_by, created_at) VALUES (?,?,?,?,?,?,?,?)",
                (show, source_kind, source_id, file, content_hash, by.id, by.name, now),
            )
            pid = int(cur.lastrowid or 0)
            self._audit(
                show, by, "canon.add", promotion=pid, source=f"{source_kind}:{source_id}", file=file
            )
        return Promotion(pid, show, source_kind, source_id, file, content_hash, by.name, now, None)

    def active_promotion(self, show: str, source_kind: str, source_id: int) -> Promotion | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_PROMOTION_COLS} FROM promotions WHERE show=? AND source_kind=?"
                " AND source_id=? AND undone_at IS NULL",
                (show, source_kind, source_id),
            ).fetchone()
        return None if row is None else _promotion(row)

    def last_promotion(self, show: str) -> Promotion | None:
        """The newest promotion not yet undone: what `canon undo` reverts."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_PROMOTION_COLS} FROM promotions WHERE show=? AND undone_at IS NULL"
                " ORDER BY id DESC LIMIT 1",
                (show,),
            ).fetchone()
        return None if row is None else _promotion(row)

    def promotions(self, show: str) -> list[Promotion]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_PROMOTION_COLS} FROM promotions WHERE show=? ORDER BY id", (show,)
            ).fetchall()
        return [_promotion(r) for r in rows]

    def mark_undone(self, promotion: Promotion, by: Actor) -> None:
        with self._lock, transaction(self._db):
            self._db.execute(
                "UPDATE promotions SET undone_at=?, undone_by=? WHERE id=?",
                (time.time(), by.name, promotion.id),
            )
            self._audit(
                promotion.show, by, "canon.undo", promotion=promotion.id, file=promotion.file
            )

    # ---- audit -----------------------------------------------------------------------------------
    def note(self, show: str, actor: Actor, action: str, **detail: Any) -> None:
        """An audit row with no data change, such as a refused promotion."""
        with self._lock, transaction(self._db):
            self._audit(show, actor, action, **detail)

    def audit_log(self, show: str) -> list[AuditEntry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at, show, actor, action, detail FROM audit WHERE show=? ORDER BY id",
                (show,),
            ).fetchall()
        return [AuditEntry(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]
