"""The ideas ledger: what a room said and decided in its brainstorm threads.

Brainstorms, every writer's message, pitches, votes, wrap-ups and promotions into canon live
in one SQLite file with numbered migrations. Every change to brainstorms, pitches, votes,
wrap-ups and canon is written together with an audit row (who, what, when) in one
transaction, so the log and the data cannot disagree; refused promotions are audited too.

The ledger has three jobs, each its own class over one shared ``LedgerFile``: the thread log
(``memory.brainstorm_log``), pitches and their votes (``memory.pitches``), and what went into
canon plus the audit trail (``memory.promotions``). ``Ledger`` opens the file and hands out
the three; the record types are re-exported here for callers.
"""

from __future__ import annotations

from pathlib import Path

from memory.brainstorm_log import BrainstormLog
from memory.ledger_file import (
    MESSAGE_KINDS,
    Actor,
    AlreadyBrainstorm,
    AuditEntry,
    Brainstorm,
    LedgerFile,
    LedgerMessage,
    Pitch,
    Promotion,
    Wrap,
)
from memory.pitches import Pitches
from memory.promotions import Promotions

__all__ = [
    "MESSAGE_KINDS",
    "Actor",
    "AlreadyBrainstorm",
    "AuditEntry",
    "Brainstorm",
    "Ledger",
    "LedgerFile",
    "LedgerMessage",
    "Pitch",
    "Promotion",
    "Wrap",
]


class Ledger:
    """One ledger file and its three views: ``log`` (brainstorms, messages, wrap-ups),
    ``pitches`` (pitches and votes) and ``promotions`` (canon changes and the audit trail)."""

    def __init__(self, path: Path) -> None:
        self._file = LedgerFile(path)
        self.log = BrainstormLog(self._file)
        self.pitches = Pitches(self._file)
        self.promotions = Promotions(self._file)

    def close(self) -> None:
        self._file.close()
