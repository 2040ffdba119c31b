"""One way to open the room's SQLite files: shared between threads behind the caller's lock,
autocommit (callers open their own transactions), WAL so readers never block the writer."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


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
    an old room database upgrades in place and a failed step leaves the last good schema."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
    current = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
    for version in sorted(v for v in migrations if v > current):
        with transaction(db):
            for statement in migrations[version].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO schema_version VALUES (?)", (version,))
        current = version
    return int(current)
