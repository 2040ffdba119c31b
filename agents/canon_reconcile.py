"""After a kill: the ledger's promotions and the promoted files brought back into agreement.

`canon add` writes the file, ingests it, then records the promotion; `canon undo` removes the
file, ingests, then marks the promotion undone. A process killed between those steps leaves
a file with no promotion, or a promotion with no file. The start-up check settles each case
the same way every time, audits it in the ledger, then re-ingests the show so the index
agrees with the folder:

- a promotion whose file is gone is marked undone: the folder is the bible, and the file is
  what the room reads, so it is no longer canon (an undo cut off after removing it gets the
  end the writer asked for);
- a promoted file (``room/``, the room's provenance front matter) that a canon add announced
  and never recorded, unchanged since, is removed: the add was cut off before the writer was
  told it worked, so their retry adds it again;
- any other promoted file with no promotion (edited since, or put there by hand) is recorded
  as a promotion: it is canon, and `canon undo` must reach it. Nothing the room cannot prove
  it wrote itself is deleted;
- temporary files of an interrupted write are removed (they were never canon).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory.bible import BibleStore
from memory.bible_parse import BibleFileError, split_front_matter
from memory.durable import leftover_files, remove
from memory.folder_lock import hold
from memory.ledger import Actor, Ledger

PROMOTED_DIR = "room"  # subfolder of the bible folder that promotions are written to
PROVENANCE = "writers-room"  # the `source:` of a promoted file's front matter
CHECK = Actor("writersroom", "start-up check")  # who the audit log says settled it
_GONE = "its file is no longer in the bible folder"
_UNCONFIRMED = "written by a canon add that was cut off before it was recorded or confirmed"
_UNRECORDED = "a promoted file in the bible folder with no promotion in the ledger"


@dataclass
class Reconciled:
    """What the start-up check changed for one show (bible-relative paths)."""

    show: str
    removed: list[str] = field(default_factory=list)  # unconfirmed adds, taken back
    recorded: list[str] = field(default_factory=list)  # promoted files now in the ledger
    undone: list[str] = field(default_factory=list)  # promotions whose file was gone
    cleared: list[str] = field(default_factory=list)  # temporary files of a cut-off write

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.recorded or self.undone)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def promoted_files(folder: Path) -> dict[str, tuple[dict[str, Any], str]]:
    """The room's promotions in a bible folder: ``room/*.md`` whose front matter carries the
    room's provenance and a pitch or wrap number, with that front matter and the text."""
    found: dict[str, tuple[dict[str, Any], str]] = {}
    for path in sorted((folder / PROMOTED_DIR).glob("*.md")):
        rel = path.relative_to(folder).as_posix()
        try:
            text = path.read_text(encoding="utf-8")
            front = split_front_matter(rel, text)[0]
        except (OSError, UnicodeDecodeError, BibleFileError):
            continue  # not readable as a promotion: a writer's own file, left alone
        if front.get("source") == PROVENANCE and _source(front) is not None:
            found[rel] = (front, text)
    return found


def _source(front: dict[str, Any]) -> tuple[str, int] | None:
    for kind in ("pitch", "wrap"):
        value = front.get(kind)
        if isinstance(value, int) and not isinstance(value, bool):
            return kind, value
    return None


def reconcile(bible: BibleStore, ledger: Ledger, show: str, folder: Path) -> Reconciled:
    """Settle one show's promotions with its bible folder (see the module's rules), holding
    the folder's lock so no canon change of another process is half-way through."""
    done = Reconciled(show)
    promotions = ledger.promotions
    with hold(folder):
        for tmp in leftover_files(folder / PROMOTED_DIR):
            remove(tmp)
            done.cleared.append(tmp.relative_to(folder).as_posix())
        active = {p.file: p for p in promotions.of_show(show) if p.undone_at is None}
        files = promoted_files(folder)
        announced = promotions.unfinished(show)
        gone = [rel for rel in active if not (folder / rel).exists()]
        if gone or set(files) - set(active):
            bible.changing(show, folder)  # a kill before the ingest below: the next start does it
        for rel in gone:
            promotions.mark_undone(
                active[rel], CHECK, action="canon.reconcile", change="marked undone", why=_GONE
            )
            done.undone.append(rel)
        for rel, (front, text) in files.items():
            if rel in active:
                continue
            digest = content_hash(text)
            if announced.get(rel) == digest:
                # Audited before the file goes: a kill in between redoes it, never hides it.
                promotions.note(
                    show, CHECK, "canon.reconcile", file=rel, change="removed", why=_UNCONFIRMED
                )
                remove(folder / rel)
                done.removed.append(rel)
                continue
            kind, number = _source(front) or ("", 0)
            approver = Actor("", str(front.get("approved_by") or "unknown"))
            promotions.add(
                show,
                kind,
                number,
                rel,
                digest,
                CHECK,
                approved_by=approver,
                action="canon.reconcile",
                change="recorded",
                why=_UNRECORDED,
            )
            done.recorded.append(rel)
        if done.changed:
            bible.ingest(folder, show)
    return done
