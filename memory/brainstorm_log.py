"""The brainstorm log: which threads are brainstorms, everything said in them, and wrap-ups.

A wrap-up reads decisions and open questions from this log, and a pitch is born here as a
message, so `record` writes the message and its pitch in one transaction: a pitch never
exists without the message that made it. Pitches are read and voted on in `memory.pitches`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from memory.history import ConversationKey
from memory.ledger_file import (
    MESSAGE_KINDS,
    Actor,
    AlreadyBrainstorm,
    Brainstorm,
    LedgerFile,
    LedgerMessage,
    Pitch,
    Wrap,
)

_BRAINSTORM_COLS = (
    "id, platform, workspace, channel, thread, show, topic, opened_by, link, canon_ids, opened_at"
)


def _brainstorm(row: Sequence[Any]) -> Brainstorm:
    key = ConversationKey(row[1], row[2], row[3], row[4])
    return Brainstorm(
        row[0], key, row[5], row[6], row[7], row[8], tuple(json.loads(row[9])), row[10]
    )


class BrainstormLog:
    """Brainstorms, their messages and wrap-ups in a shared `LedgerFile`."""

    def __init__(self, file: LedgerFile) -> None:
        self._file = file

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
        """Make the thread a brainstorm; `AlreadyBrainstorm` when it is one already."""
        try:
            with self._file.write() as db:
                cur = db.execute(
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
                self._file.audit(show, by, "brainstorm.open", brainstorm=cur.lastrowid, topic=topic)
                row = db.execute(
                    f"SELECT {_BRAINSTORM_COLS} FROM brainstorms WHERE id=?", (cur.lastrowid,)
                ).fetchone()
        except sqlite3.IntegrityError:
            raise AlreadyBrainstorm(topic) from None
        return _brainstorm(row)

    def brainstorm(self, key: ConversationKey) -> Brainstorm | None:
        """The brainstorm a thread holds, if any."""
        with self._file.lock:
            row = self._file.db.execute(
                f"SELECT {_BRAINSTORM_COLS} FROM brainstorms"
                " WHERE platform=? AND workspace=? AND channel=? AND thread=?",
                (key.platform, key.workspace, key.channel, key.thread),
            ).fetchone()
        return None if row is None else _brainstorm(row)

    def brainstorm_by_id(self, brainstorm_id: int) -> Brainstorm:
        with self._file.lock:
            row = self._file.db.execute(
                f"SELECT {_BRAINSTORM_COLS} FROM brainstorms WHERE id=?", (brainstorm_id,)
            ).fetchone()
        return _brainstorm(row)

    def brainstorms(self, show: str) -> list[Brainstorm]:
        """A show's brainstorms, oldest first."""
        with self._file.lock:
            rows = self._file.db.execute(
                f"SELECT {_BRAINSTORM_COLS} FROM brainstorms WHERE show=? ORDER BY id", (show,)
            ).fetchall()
        return [_brainstorm(r) for r in rows]

    def shows(self) -> list[str]:
        """Every show that has held a brainstorm, by name."""
        with self._file.lock:
            rows = self._file.db.execute("SELECT DISTINCT show FROM brainstorms ORDER BY show")
            return [str(r[0]) for r in rows.fetchall()]

    # ---- messages ----------------------------------------------------------------------------
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
        with self._file.write() as db:
            cur = db.execute(
                "INSERT INTO messages (brainstorm_id, role, kind, author_id, author, text,"
                " message_ref, created_at) VALUES (?,?,?,?,?,?,?,?)",
                (brainstorm.id, role, kind, author.id, author.name, text, message_ref, now),
            )
            if pitch is None:
                return None
            made = db.execute(
                "INSERT INTO pitches (brainstorm_id, message_id, author_id, author, text,"
                " message_ref, created_at) VALUES (?,?,?,?,?,?,?)",
                (brainstorm.id, cur.lastrowid, author.id, author.name, pitch, message_ref, now),
            )
            pitch_id = int(made.lastrowid or 0)
            self._file.audit(brainstorm.show, author, "pitch.add", pitch=pitch_id, text=pitch)
        return Pitch(pitch_id, brainstorm.id, author.id, author.name, pitch, now, ())

    def messages(self, brainstorm_id: int) -> list[LedgerMessage]:
        """The thread, oldest first."""
        with self._file.lock:
            rows = self._file.db.execute(
                "SELECT id, role, kind, author_id, author, text, created_at FROM messages"
                " WHERE brainstorm_id=? ORDER BY id",
                (brainstorm_id,),
            ).fetchall()
        return [LedgerMessage(*r) for r in rows]

    # ---- wrap-ups ----------------------------------------------------------------------------
    def add_wrap(self, brainstorm: Brainstorm, by: Actor, text: str, data: dict[str, Any]) -> Wrap:
        now = time.time()
        with self._file.write() as db:
            cur = db.execute(
                "INSERT INTO wraps (brainstorm_id, by_id, by_name, text, data, created_at)"
                " VALUES (?,?,?,?,?,?)",
                (brainstorm.id, by.id, by.name, text, json.dumps(data), now),
            )
            wrap_id = int(cur.lastrowid or 0)
            self._file.audit(
                brainstorm.show, by, "wrap.add", brainstorm=brainstorm.id, wrap=wrap_id
            )
        return Wrap(wrap_id, brainstorm.id, by.name, text, data, now)

    def latest_wrap(self, brainstorm_id: int) -> Wrap | None:
        with self._file.lock:
            row = self._file.db.execute(
                "SELECT id, brainstorm_id, by_name, text, data, created_at FROM wraps"
                " WHERE brainstorm_id=? ORDER BY id DESC LIMIT 1",
                (brainstorm_id,),
            ).fetchone()
        if row is None:
            return None
        return Wrap(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5])
