"""Promotions into canon and the audit trail.

A promotion records which pitch or wrap-up became which bible file, so `canon undo` can find
the newest one and a source is not added twice. The audit trail lives here too because it is
mostly read as the history of canon changes, refused ones included (`note`), though every
view of the ledger writes to it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from memory.ledger_file import Actor, AuditEntry, LedgerFile, Promotion

_PROMOTION_COLS = (
    "id, show, source_kind, source_id, file, content_hash, approved_by, created_at, undone_at"
)


def _promotion(row: Sequence[Any]) -> Promotion:
    return Promotion(*row)


class Promotions:
    """Canon promotions and the audit log in a shared `LedgerFile`."""

    def __init__(self, file: LedgerFile) -> None:
        self._file = file

    def add(
        self,
        show: str,
        source_kind: str,
        source_id: int,
        file: str,
        content_hash: str,
        by: Actor,
        *,
        approved_by: Actor | None = None,
        action: str = "canon.add",
        **detail: Any,
    ) -> Promotion:
        """Record that a pitch or wrap-up (``source_kind``) became a bible file. Call it only
        once the file is written, so the ledger never claims canon the bible lacks.
        ``approved_by`` and ``action`` differ from ``by`` and 'canon.add' when the start-up
        check records a promoted file it found with no promotion."""
        now = time.time()
        approver = approved_by or by
        with self._file.write() as db:
            cur = db.execute(
                "INSERT INTO promotions (show, source_kind, source_id, file, content_hash,"
                " approved_by_id, approved_by, created_at) VALUES (?,?,?,?,?,?,?,?)",
                (show, source_kind, source_id, file, content_hash, approver.id, approver.name, now),
            )
            pid = int(cur.lastrowid or 0)
            source = f"{source_kind}:{source_id}"
            self._file.audit(show, by, action, promotion=pid, source=source, file=file, **detail)
        return Promotion(
            pid, show, source_kind, source_id, file, content_hash, approver.name, now, None
        )

    def active(self, show: str, source_kind: str, source_id: int) -> Promotion | None:
        """The source's promotion that still stands, if any: a source goes into canon once."""
        with self._file.lock:
            row = self._file.db.execute(
                f"SELECT {_PROMOTION_COLS} FROM promotions WHERE show=? AND source_kind=?"
                " AND source_id=? AND undone_at IS NULL",
                (show, source_kind, source_id),
            ).fetchone()
        return None if row is None else _promotion(row)

    def last(self, show: str) -> Promotion | None:
        """The newest promotion not yet undone: what `canon undo` reverts."""
        with self._file.lock:
            row = self._file.db.execute(
                f"SELECT {_PROMOTION_COLS} FROM promotions WHERE show=? AND undone_at IS NULL"
                " ORDER BY id DESC LIMIT 1",
                (show,),
            ).fetchone()
        return None if row is None else _promotion(row)

    def of_show(self, show: str) -> list[Promotion]:
        """Every promotion of a show, undone ones included, oldest first."""
        with self._file.lock:
            rows = self._file.db.execute(
                f"SELECT {_PROMOTION_COLS} FROM promotions WHERE show=? ORDER BY id", (show,)
            ).fetchall()
        return [_promotion(r) for r in rows]

    def mark_undone(
        self, promotion: Promotion, by: Actor, *, action: str = "canon.undo", **detail: Any
    ) -> None:
        with self._file.write() as db:
            db.execute(
                "UPDATE promotions SET undone_at=?, undone_by=? WHERE id=?",
                (time.time(), by.name, promotion.id),
            )
            self._file.audit(
                promotion.show, by, action, promotion=promotion.id, file=promotion.file, **detail
            )

    def unfinished(self, show: str) -> dict[str, str]:
        """Files a canon add announced (``canon.adding``, written before the file) with no
        later record of that file: each with the content hash it was to have. A kill between
        the file and its promotion leaves one; only such a file is the room's own unconfirmed
        write, which the start-up check may take back."""
        with self._file.lock:
            rows = self._file.db.execute(
                "SELECT action, detail FROM audit WHERE show=? AND action IN"
                " ('canon.adding', 'canon.add', 'canon.undo', 'canon.reconcile') ORDER BY id",
                (show,),
            ).fetchall()
        pending: dict[str, str] = {}
        for action, raw in rows:
            detail = json.loads(raw)
            file = str(detail.get("file", ""))
            if action == "canon.adding":
                pending[file] = str(detail.get("content_hash", ""))
            elif not (action == "canon.reconcile" and detail.get("change") == "removed"):
                # A removal is audited before the file goes: a kill in between must leave
                # the add unconfirmed, so the next start removes it again (never records it).
                pending.pop(file, None)
        return pending

    def note(self, show: str, actor: Actor, action: str, **detail: Any) -> None:
        """An audit row with no data change, such as a refused promotion."""
        with self._file.write():
            self._file.audit(show, actor, action, **detail)

    def audit_log(self, show: str) -> list[AuditEntry]:
        """Everything done in a show's ledger, oldest first."""
        with self._file.lock:
            rows = self._file.db.execute(
                "SELECT at, show, actor, action, detail FROM audit WHERE show=? ORDER BY id",
                (show,),
            ).fetchall()
        return [AuditEntry(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]
