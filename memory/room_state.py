"""Small persistent state the chat adapters need: delivered event IDs (so a platform's retries
give one answer, across restarts), threads the bot has joined, channel -> show mappings, and
writers' own default shows (for DMs and unlinked channels), and the episode a thread or
channel is breaking.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from memory.sqlite import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_events (
    platform TEXT NOT NULL, event_id TEXT NOT NULL, seen_at REAL NOT NULL,
    PRIMARY KEY (platform, event_id)
);
CREATE TABLE IF NOT EXISTS bot_threads (
    platform TEXT NOT NULL, workspace TEXT NOT NULL, channel TEXT NOT NULL, thread TEXT NOT NULL,
    PRIMARY KEY (platform, workspace, channel, thread)
);
CREATE TABLE IF NOT EXISTS show_map (
    platform TEXT NOT NULL, workspace TEXT NOT NULL, channel TEXT NOT NULL,
    show TEXT NOT NULL, set_by TEXT NOT NULL, set_at REAL NOT NULL,
    PRIMARY KEY (platform, workspace, channel)
);
CREATE TABLE IF NOT EXISTS user_show (
    platform TEXT NOT NULL, user_id TEXT NOT NULL,
    show TEXT NOT NULL, set_by TEXT NOT NULL, set_at REAL NOT NULL,
    PRIMARY KEY (platform, user_id)
);
CREATE TABLE IF NOT EXISTS episode_at (
    platform TEXT NOT NULL, workspace TEXT NOT NULL, channel TEXT NOT NULL, thread TEXT NOT NULL,
    episode TEXT NOT NULL, set_by TEXT NOT NULL, set_at REAL NOT NULL,
    PRIMARY KEY (platform, workspace, channel, thread)
);
"""
EVENT_TTL_S = 7 * 24 * 3600


class RoomState:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = connect(path)
        with self._lock:
            self._db.executescript(_SCHEMA)

    def first_delivery(self, platform: str, event_id: str) -> bool:
        """Record an event; False when it was seen before (a retry or duplicate)."""
        now = time.time()
        with self._lock:
            self._db.execute("DELETE FROM seen_events WHERE seen_at < ?", (now - EVENT_TTL_S,))
            cur = self._db.execute(
                "INSERT OR IGNORE INTO seen_events VALUES (?, ?, ?)", (platform, event_id, now)
            )
            return cur.rowcount == 1

    def join_thread(self, platform: str, workspace: str, channel: str, thread: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO bot_threads VALUES (?, ?, ?, ?)",
                (platform, workspace, channel, thread),
            )

    def in_thread(self, platform: str, workspace: str, channel: str, thread: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM bot_threads WHERE platform=? AND workspace=? AND channel=?"
                " AND thread=?",
                (platform, workspace, channel, thread),
            ).fetchone()
        return row is not None

    def map_show(self, platform: str, workspace: str, channel: str, show: str, by: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO show_map VALUES (?, ?, ?, ?, ?, ?)",
                (platform, workspace, channel, show, by, time.time()),
            )

    def mapped_show(self, platform: str, workspace: str, channel: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT show FROM show_map WHERE platform=? AND workspace=? AND channel=?",
                (platform, workspace, channel),
            ).fetchone()
        return None if row is None else str(row[0])

    def set_user_show(self, platform: str, user_id: str, show: str, by: str) -> None:
        """A writer's show wherever no channel mapping says otherwise (a DM, an unlinked
        channel). Keyed by platform and user alone: a Discord DM belongs to no server."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO user_show VALUES (?, ?, ?, ?, ?)",
                (platform, user_id, show, by, time.time()),
            )

    def user_show(self, platform: str, user_id: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT show FROM user_show WHERE platform=? AND user_id=?", (platform, user_id)
            ).fetchone()
        return None if row is None else str(row[0])

    def set_episode(
        self, platform: str, workspace: str, channel: str, thread: str, episode: str | None, by: str
    ) -> None:
        """The episode a thread ("" for the whole channel) is breaking. None removes the
        setting; "" says "no episode here", so a thread can opt out of its channel's."""
        with self._lock:
            if episode is None:
                self._db.execute(
                    "DELETE FROM episode_at WHERE platform=? AND workspace=? AND channel=?"
                    " AND thread=?",
                    (platform, workspace, channel, thread),
                )
                return
            self._db.execute(
                "INSERT OR REPLACE INTO episode_at VALUES (?, ?, ?, ?, ?, ?, ?)",
                (platform, workspace, channel, thread, episode, by, time.time()),
            )

    def episode(self, platform: str, workspace: str, channel: str, thread: str) -> str | None:
        """The thread's episode, else the channel's, else None (also for an opt-out)."""
        with self._lock:
            row = self._db.execute(
                "SELECT episode FROM episode_at WHERE platform=? AND workspace=? AND channel=?"
                " AND thread IN (?, '') ORDER BY thread = '' LIMIT 1",
                (platform, workspace, channel, thread),
            ).fetchone()
        if row is None:
            return None
        return str(row[0]) or None

    def close(self) -> None:
        with self._lock:
            self._db.close()
