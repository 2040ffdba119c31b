"""One way to open the room's SQLite files: shared between threads behind the caller's lock,
autocommit (callers open their own transactions), WAL so readers never block the writer."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    _wal(db)
    db.execute("PRAGMA foreign_keys=ON")
    return db


def _wal(db: sqlite3.Connection, tries: int = 100) -> None:
    """Switch to WAL. Two processes opening a new file at once (two bots on one data folder)
    can find it locked by the other's switch, which SQLite reports at once rather than
    waiting out the busy timeout: wait a moment and try again."""
    for attempt in range(tries):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.02)


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """All of the block's writes or none of them."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def migrate(db: sqlite3.Connection, migrations: Mapping[int, str]) -> int:
    """Apply the numbered migrations the file has not seen, each in its own transaction, so
    an old room database upgrades in place and a failed step leaves the last good schema.

    Two bots may open one fresh file at once (a studio's Slack and Discord bots on one data
    folder): each step reads the version again inside its write transaction, so the one that
    comes second finds the step done and skips it instead of failing on 'table exists'."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
    seen = _version(db)
    for version in sorted(v for v in migrations if v > seen):
        with transaction(db):
            if _version(db) >= version:
                continue  # the other process applied it since we looked
            for statement in migrations[version].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO schema_version VALUES (?)", (version,))
    return _version(db)


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0)
