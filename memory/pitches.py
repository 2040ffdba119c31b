"""Pitches and their votes: what the room put forward and who backs it.

Pitches are written by `BrainstormLog.record` together with the message that carries them;
this class reads them back with their voters and counts votes. A vote is one per writer per
reaction token, and a pitch shows each writer once however many ways they voted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from memory.ledger_file import Actor, LedgerFile, Pitch


class Pitches:
    """Pitches and votes in a shared `LedgerFile`."""

    def __init__(self, file: LedgerFile) -> None:
        self._file = file

    def _select(self, where: str, args: Sequence[Any]) -> list[Pitch]:
        """Pitches matching ``where``, oldest first; the caller holds the lock."""
        rows = self._file.db.execute(
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

    def by_id(self, pitch_id: int) -> Pitch | None:
        """A pitch by its number, as writers name it (`vote #3`), with its current voters."""
        with self._file.lock:
            found = self._select("p.id=?", (pitch_id,))
        return found[0] if found else None

    def by_ref(self, platform: str, workspace: str, message_ref: str) -> Pitch | None:
        """The pitch a platform message carries (what a reaction points at)."""
        if not message_ref:
            return None
        with self._file.lock:
            found = self._select(
                "p.message_ref=? AND p.brainstorm_id IN"
                " (SELECT id FROM brainstorms WHERE platform=? AND workspace=?)",
                (message_ref, platform, workspace),
            )
        return found[0] if found else None

    def of_brainstorm(self, brainstorm_id: int) -> list[Pitch]:
        """A brainstorm's pitches, oldest first."""
        with self._file.lock:
            return self._select("p.brainstorm_id=?", (brainstorm_id,))

    def show_of(self, brainstorm_id: int) -> str:
        """The show a brainstorm belongs to: votes are audited under it, and a pitch number
        from another show must not be taken for this one's."""
        with self._file.lock:
            row = self._file.db.execute(
                "SELECT show FROM brainstorms WHERE id=?", (brainstorm_id,)
            ).fetchone()
        return str(row[0])

    def vote(self, pitch: Pitch, voter: Actor, token: str = "vote") -> bool:
        """Count a writer's vote; False when this writer already voted this way."""
        show = self.show_of(pitch.brainstorm_id)
        with self._file.write() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO votes VALUES (?,?,?,?,?)",
                (pitch.id, voter.id, voter.name, token, time.time()),
            )
            if cur.rowcount:
                self._file.audit(show, voter, "vote.add", pitch=pitch.id, token=token)
        return bool(cur.rowcount)

    def unvote(self, pitch: Pitch, voter: Actor, token: str | None = "vote") -> bool:
        """Take a vote back (one reaction, or with ``token=None`` all of the writer's)."""
        show = self.show_of(pitch.brainstorm_id)
        with self._file.write() as db:
            if token is None:
                cur = db.execute(
                    "DELETE FROM votes WHERE pitch_id=? AND voter_id=?", (pitch.id, voter.id)
                )
            else:
                cur = db.execute(
                    "DELETE FROM votes WHERE pitch_id=? AND voter_id=? AND token=?",
                    (pitch.id, voter.id, token),
                )
            if cur.rowcount:
                self._file.audit(show, voter, "vote.remove", pitch=pitch.id, token=token)
        return bool(cur.rowcount)
