"""Two bots on one data folder (a studio's Slack and Discord bots) opening its SQLite files at
the same moment, as they do on a first start or after an upgrade that adds a migration."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

from memory.history import HistoryStore
from memory.ledger import Ledger
from memory.room_state import RoomState

ROUNDS = 20


def _open_each(folder: str, barrier: Any, failures: Any) -> None:
    for i in range(ROUNDS):
        for name, store in (("history", HistoryStore), ("ledger", Ledger), ("state", RoomState)):
            barrier.wait(timeout=60)
            try:
                store(Path(folder) / f"{name}-{i}.sqlite3").close()
            except Exception as exc:
                failures.put(f"{name} {i}: {exc!r}")


def test_two_processes_opening_a_fresh_database_at_once_both_succeed(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")  # no fork of a process that holds threads and models
    barrier = ctx.Barrier(2)
    failures = ctx.Queue()
    procs = [
        ctx.Process(target=_open_each, args=(str(tmp_path), barrier, failures)) for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=180)
    assert [p.exitcode for p in procs] == [0, 0]
    seen = []
    while not failures.empty():
        seen.append(failures.get())
    assert seen == []
    # every file has its whole schema, once
    for i in range(ROUNDS):
        history = HistoryStore(tmp_path / f"history-{i}.sqlite3")
        assert history._db.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(
            {v for (v,) in history._db.execute("SELECT version FROM schema_version")}
        )
        history.close()
