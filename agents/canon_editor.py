"""Promoting a pitch or a wrap-up into the show bible, and undoing it.

Only a command from a writer the adapter marked as a canon editor gets here with effect; the
model has no path to it. A promotion is a Markdown file in the show's bible folder (so the
files stay the source of truth) with front matter that records its provenance, re-ingested
at once; the ledger records it only after the bible has it, and a failed step is undone.
A kill between the steps is settled on the next start (``agents.canon_reconcile``). Each
change holds the bible folder's lock (``memory.folder_lock``), so two processes promoting at
once take turns instead of deleting each other's sections.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from agents.bible_folder import writable_folder
from agents.canon_reconcile import PROMOTED_DIR, PROVENANCE, Reconciled, content_hash, reconcile
from agents.errors import BadRequest, RoomError
from agents.messages import Reply
from agents.schemas import Citation
from memory.bible import BibleStore, slugify
from memory.durable import fsync_dir, remove, write_atomically
from memory.folder_lock import hold
from memory.ledger import Actor, Brainstorm, Ledger

__all__ = ["PROMOTED_DIR", "CanonChange", "CanonEditor", "Draft", "content_hash"]


class NotAllowed(RoomError):
    pass


class CanonChange(BaseModel):
    action: str  # 'add' or 'undo'
    promotion: int
    file: str


@dataclass(frozen=True)
class Draft:
    """A bible file about to be written: where, its text, and its heading for citations."""

    kind: str  # 'pitch' or 'wrap'
    source_id: int
    rel_path: str
    text: str
    heading: str
    what: str  # how the reply names it: "pitch #2 by dana"


def _file_slug(text: str) -> str:
    return slugify(text, words=6) or "entry"


def bible_markdown(front: dict[str, Any], title: str, body: str) -> str:
    """A bible file: YAML front matter, then a title heading and the body.

    Values are dumped by YAML and kept to one line each: a line break in a value would let a
    '---' line in a writer's text close the front matter early."""
    flat = {k: " ".join(v.split()) if isinstance(v, str) else v for k, v in front.items()}
    matter = yaml.safe_dump(flat, sort_keys=False, allow_unicode=True, width=10_000)
    return f"---\n{matter}---\n# {' '.join(title.split())}\n\n{body.strip()}\n"


def provenance(
    bs: Brainstorm, title: str, pitched_by: str, approver: str, today: str, **source: int
) -> dict[str, Any]:
    """Front matter of a promoted entry: who pitched and approved it, when, and where."""
    return {
        "type": "note",
        "name": title,
        "source": PROVENANCE,
        "pitched_by": pitched_by,
        "approved_by": approver,
        "date": today,
        "thread": bs.link or f"{bs.key.platform}:{bs.key.channel}/{bs.key.thread}",
        "brainstorm": bs.topic,
        **source,
    }


def pitch_draft(
    pitch_id: int, author: str, text: str, bs: Brainstorm, approver: str, today: str
) -> Draft:
    title = f"Room pitch {pitch_id}: " + " ".join(text.split())[:60].rstrip()
    front = provenance(bs, title, author, approver, today, pitch=pitch_id)
    rel = f"{PROMOTED_DIR}/{today}-pitch-{pitch_id}-{_file_slug(text)}.md"
    what = f"pitch #{pitch_id} by {author}"
    return Draft("pitch", pitch_id, rel, bible_markdown(front, title, text), title, what)


def wrap_draft(
    wrap_id: int, data: dict[str, Any], bs: Brainstorm, approver: str, today: str
) -> Draft:
    title = "Room decisions: " + " ".join(bs.topic.split())[:60].rstrip()
    authors = sorted({p["author"] for p in data.get("top_pitches", []) if p.get("votes")})
    lines = [data.get("summary", "").strip(), "", "## Decisions", ""]
    lines += [f"- {d['text']} ({d['author']})" for d in data.get("decisions", [])] or ["- none"]
    lines += ["", "## Pitches the room backed", ""]
    lines += [
        f"- {p['text']} ({p['author']}, {p['votes']} votes)"
        for p in data.get("top_pitches", [])
        if p.get("votes")
    ] or ["- none"]
    front = provenance(bs, title, ", ".join(authors) or bs.opened_by, approver, today, wrap=wrap_id)
    rel = f"{PROMOTED_DIR}/{today}-wrap-{wrap_id}-{_file_slug(bs.topic)}.md"
    body = bible_markdown(front, title, "\n".join(lines))
    return Draft("wrap", wrap_id, rel, body, title, f"the wrap-up of '{bs.topic}'")


class CanonEditor:
    def __init__(self, bible: BibleStore, ledger: Ledger, read_only: Sequence[Path] = ()) -> None:
        self._bible = bible
        self._ledger = ledger
        self._read_only = [p.resolve() for p in read_only]
        self._lock = threading.Lock()  # one change to a bible folder at a time

    def check_allowed(
        self, actor: Actor, allowed: bool, show: str, action: str, target: str
    ) -> None:
        if allowed:
            return
        self._ledger.promotions.note(show, actor, "canon.refused", change=action, target=target)
        raise NotAllowed(
            f"Only the room's canon editors can change the {show} bible; nothing changed. "
            "Ask your showrunner, who can promote it (the bot's admin sets who may)."
        )

    @property
    def read_only(self) -> list[Path]:
        """Folders no change to canon may write into (the bundled sample)."""
        return list(self._read_only)

    def _folder(self, show: str) -> Path:
        return writable_folder(self._bible, show, self._read_only, "add to it")

    def reconcile(self, show: str) -> Reconciled | None:
        """The start-up check of ``agents.canon_reconcile`` for a show whose bible folder the
        room may write to (None for any other: nothing can have been promoted into it)."""
        try:
            folder = self._folder(show)
        except BadRequest:
            return None
        with self._lock:
            return reconcile(self._bible, self._ledger, show, folder)

    # ---- add ----------------------------------------------------------------------------------
    def add(
        self, actor: Actor, allowed: bool, show: str, target: str | None, bs: Brainstorm | None
    ) -> Reply:
        """``allowed``: the core's decision that ``actor`` may edit canon (agents.access)."""
        self.check_allowed(actor, allowed, show, "add", target or "")
        today = datetime.now(UTC).date().isoformat()
        draft = self._draft(actor.name, show, (target or "").strip().lower(), bs, today)
        folder = self._folder(show)
        with self._lock, hold(folder):
            active = self._ledger.promotions.active(show, draft.kind, draft.source_id)
            if active is not None:
                raise BadRequest(f"That is already in the {show} bible: {active.file}")
            path = folder / draft.rel_path
            if path.exists():
                raise BadRequest(f"{draft.rel_path} already exists in the bible folder.")
            # Announced first: the start-up check takes back only a file announced like this.
            self._ledger.promotions.note(
                show,
                actor,
                "canon.adding",
                file=draft.rel_path,
                content_hash=content_hash(draft.text),
                source=f"{draft.kind}:{draft.source_id}",
            )
            self._bible.changing(show, folder)
            write_atomically(path, draft.text)
            try:
                report = self._bible.ingest(folder, show)
                if any(p.path == draft.rel_path for p in report.skipped):
                    raise RoomError("the new bible file did not parse")
                promotion = self._ledger.promotions.add(
                    show,
                    draft.kind,
                    draft.source_id,
                    draft.rel_path,
                    content_hash(draft.text),
                    actor,
                )
            except BaseException:
                _remove(path)
                self._bible.ingest(folder, show)
                raise
        cite = Citation(file=draft.rel_path, heading=draft.heading)
        return Reply(
            kind="canon",
            text=(
                f"Added {draft.what} to the {show} bible as {cite.label}, approved by "
                f"{actor.name}. Undo with: canon undo"
            ),
            result=CanonChange(action="add", promotion=promotion.id, file=draft.rel_path),
            citations=[cite],
        )

    def _draft(
        self, approver: str, show: str, target: str, bs: Brainstorm | None, today: str
    ) -> Draft:
        if target == "wrap":
            if bs is None:
                raise BadRequest("'canon add wrap' works inside a brainstorm thread.")
            wrap = self._ledger.log.latest_wrap(bs.id)
            if wrap is None:
                raise BadRequest("This thread has no wrap-up yet. Run: wrap")
            return wrap_draft(wrap.id, wrap.data, bs, approver, today)
        number = target.lstrip("#")
        if not number.isdigit():
            raise BadRequest("Say what to add: canon add N (a pitch number), or canon add wrap")
        pitch = self._ledger.pitches.by_id(int(number))
        source = None if pitch is None else self._ledger.log.brainstorm_by_id(pitch.brainstorm_id)
        if pitch is None or source is None or source.show != show:
            raise BadRequest(f"There is no pitch #{number} for {show}.")
        return pitch_draft(pitch.id, pitch.author, pitch.text, source, approver, today)

    # ---- undo ---------------------------------------------------------------------------------
    def undo(self, actor: Actor, allowed: bool, show: str) -> Reply:
        self.check_allowed(actor, allowed, show, "undo", "")
        folder = self._folder(show)
        with self._lock, hold(folder):
            last = self._ledger.promotions.last(show)
            if last is None:
                raise BadRequest(f"Nothing to undo: no addition to the {show} bible is in effect.")
            path = folder / last.file
            if (
                path.exists()
                and content_hash(path.read_text(encoding="utf-8")) != last.content_hash
            ):
                raise BadRequest(
                    f"{last.file} was edited after it was added, so I left it alone. Ask whoever "
                    f"runs the bot to remove it from the {show} bible folder by hand and ingest "
                    f"the folder again (writersroom bible ingest DIR --show {show})."
                )
            kept = path.read_text(encoding="utf-8") if path.exists() else None
            self._bible.changing(show, folder)
            _remove(path)
            try:
                self._bible.ingest(folder, show)
                self._ledger.promotions.mark_undone(last, actor)
            except BaseException:
                if kept is not None:  # put it back: the bible and the ledger must agree
                    write_atomically(path, kept)
                    self._bible.ingest(folder, show)
                raise
        return Reply(
            kind="canon",
            text=f"Removed {last.file} from the {show} bible (added by {last.approved_by}).",
            result=CanonChange(action="undo", promotion=last.id, file=last.file),
        )


def _remove(path: Path) -> None:
    remove(path)
    parent = path.parent
    if parent.name == PROMOTED_DIR and not any(parent.iterdir()):
        parent.rmdir()
        fsync_dir(parent.parent)
