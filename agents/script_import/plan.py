"""What importing a script will do to a bible folder, decided before anything is written:
the episode file (``sections``), a stub for each new speaking character, and ``appears_in``
for the bible's characters who speak. Pure: the folder's entries and the script in, the
files' bytes out.

A file is created only at a path nothing on disk holds (a broken file, a note, another
case of the same name); the bible's own files are edited one front-matter field at a time,
in their own encoding; a hand-written episode file is never replaced.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from agents.canon_editor import bible_markdown
from agents.screenplay.model import Script, scenes
from agents.script_import.cast import Cast, New, cast_of, own_stub
from agents.script_import.folder import (
    IMPORTED,
    CannotEdit,
    Entry,
    encoded_like,
    front_matter,
    with_appearance,
    with_field,
)
from agents.script_import.sections import (
    Tick,
    episode_text,
    inline,
    known_names,
    prelaps_forward,
)
from memory.bible import slugify
from memory.episodes import Episode

CHARACTERS_DIR = "characters"
EPISODES_DIR = "episodes"


class ImportRefused(ValueError):
    """The import cannot go ahead as asked; nothing is written."""


@dataclass(frozen=True)
class Change:
    rel: str
    action: str  # 'created', 'updated' or 'unchanged'
    data: bytes  # the file as it will be on disk
    what: str  # how the report names it


@dataclass(frozen=True)
class Plan:
    episode: Episode
    title: str
    scenes: int
    changes: tuple[Change, ...]
    skipped: tuple[str, ...] = ()  # cues not matched nor stubbed, files not edited, and why

    @property
    def writes(self) -> list[Change]:
        return [c for c in self.changes if c.action != "unchanged"]


def _count(lines: int) -> str:
    return f"{lines} line" if lines == 1 else f"{lines} lines"


def stub_text(new: New, episode: Episode, title: str) -> str:
    """A new character's file. ``reveal`` hides it (name included) from rooms breaking an
    earlier episode, as the bible hides every later character."""
    front = {
        "type": "character",
        "name": new.name,
        "aliases": [new.cue] if new.cue != new.name else [],
        "status": "alive",
        "first_episode": episode.code,
        "reveal": episode.code,
        "appears_in": [episode.code],
        "source": IMPORTED,
        "lines": new.lines,
    }
    body = (
        "## Imported\n\n"
        f"Imported from the script of {episode.code} “{inline(title)}”, where they have "
        f"{_count(new.lines)}. The room has not written this character up yet."
    )
    return bible_markdown(front, new.name, body)


def _ascii(text: str) -> str:
    """'Renée' -> 'Renee', so a file name keeps the word whole ('renee.md', not 'ren-e.md')."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _free(rel: str, taken: set[str]) -> str:
    """``rel``, or ``rel`` with -2, -3... where something on disk holds that path."""
    stem, n = rel.removesuffix(".md"), 2
    while rel.lower() in taken:
        rel, n = f"{stem}-{n}.md", n + 1
    taken.add(rel.lower())
    return rel


def _edited(entry: Entry, episode: Episode) -> tuple[str | None, str, str | None]:
    """A known character's file with the episode in ``appears_in`` (and, for the import's
    own stub, an earlier episode as its first and its reveal), or None if nothing changes;
    what the report says; and why a stub was not moved back, if it was not."""
    text = with_appearance(entry.decoded or entry.text, episode)
    what = f"{entry.name}: appears_in {episode.code}"
    earlier = entry.first is not None and episode < entry.first
    if not (entry.source == IMPORTED and earlier):
        return text, what, None
    if not own_stub(entry):
        return (
            text,
            what,
            (f"{entry.rel}: its reveal was set by a writer, so its first_episode was left alone"),
        )
    text = with_field(text or entry.decoded or entry.text, "first_episode", episode.code)
    text = with_field(text, "reveal", episode.code)
    return text, what + f", first_episode {episode.code}", None


def _appearances(cast: Cast, episode: Episode) -> tuple[list[Change], list[str]]:
    changes: list[Change] = []
    skipped: list[str] = []
    for entry in {e.rel: e for e in cast.known.values()}.values():
        try:
            text, what, kept = _edited(entry, episode)
        except CannotEdit as exc:
            skipped.append(f"{entry.rel}: not edited ({exc}); add {episode.code} by hand")
            continue
        if kept:
            skipped.append(kept)
        if text is None:
            changes.append(Change(entry.rel, "unchanged", entry.raw, what))
        else:
            changes.append(Change(entry.rel, "updated", encoded_like(entry.raw, text), what))
    return changes, skipped


IMPORT_HASH = "import_hash"


def stamped(text: str) -> str:
    """The episode file with a hash of what the import wrote, so a later import can tell a
    file a writer has since edited (never replaced) from its own (replaced)."""
    return with_field(text, IMPORT_HASH, _digest(text))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def edited_since(entry: Entry) -> bool:
    """An imported episode file whose text is no longer what its import wrote."""
    stamp = front_matter(entry.text).get(IMPORT_HASH)
    if not isinstance(stamp, str):
        return True
    start = entry.text.find(f"\n{IMPORT_HASH}:")
    end = entry.text.find("\n", start + 1)
    unstamped = entry.text[: start + 1] + entry.text[end + 1 :]
    return _digest(unstamped) != stamp


def plan_import(
    script: Script,
    entries: Sequence[Entry],
    taken: set[str],
    broken: set[str],
    episode: Episode,
    title: str,
    origin: str,
    tick: Tick = lambda done, total: None,
) -> Plan:
    """The changes importing ``script`` as ``episode`` makes to a folder of ``entries``;
    ``taken``: every path in it, lower-cased (``folder.taken_paths``); ``broken``: its files
    that do not load (``folder.scan``)."""
    found = prelaps_forward([s for s in scenes(script) if s.heading])
    if not found:
        raise ImportRefused(
            "it has no scene headings (INT. PLACE - DAY), and the bible files an episode "
            "scene by scene"
        )
    same = [e for e in entries if e.type == "episode" and e.episode == episode]
    hand = [e for e in same if e.source != IMPORTED]
    if hand:
        raise ImportRefused(
            f"{episode.code} already has an episode file written by hand ({hand[0].rel}), "
            "and an import never overwrites one. Import it as another episode, or move that "
            "file out of the bible folder first"
        )
    edited = [e for e in same if edited_since(e)]
    if edited:
        raise ImportRefused(
            f"{edited[0].rel} was edited after it was imported, and an import never "
            "overwrites a writer's edits. Move it out of the bible folder (or delete it) to "
            "import this episode again"
        )
    characters = [e for e in entries if e.type == "character"]
    cast = cast_of(found, characters, episode)
    taken = set(taken)
    # Secret characters are not named either: the action may call them by a public alias.
    seen = [(e.name, e.aliases) for e in characters if e not in cast.hidden]
    everyone = known_names(seen, cast)
    text = stamped(episode_text(episode, title, found, cast, everyone, origin, tick))
    what = f"episode {episode.code} “{title}”"
    if same:
        old = same[0]
        action = "unchanged" if old.text == text else "updated"
        changes = [Change(old.rel, action, text.encode("utf-8"), what)]
    else:
        rel = _free(f"{EPISODES_DIR}/{_episode_file(episode, title)}", taken)
        changes = [Change(rel, "created", text.encode("utf-8"), what)]
    skipped = [f"{cue}: {why}" for cue, why in cast.skipped.values()]
    for new in cast.new.values():
        natural = f"{CHARACTERS_DIR}/{slugify(_ascii(new.name)) or 'character'}.md"
        if natural.lower() in broken:
            skipped.append(
                f"{new.cue}: {natural} is there but does not load; fix it (the ingest report "
                "says how) and import again, rather than a second file for the same character"
            )
            continue
        stub = _free(natural, taken)
        made = stub_text(new, episode, title).encode("utf-8")
        changes.append(
            Change(stub, "created", made, f"new character {new.name} ({_count(new.lines)})")
        )
    edits, not_edited = _appearances(cast, episode)
    return Plan(episode, title, len(found), (*changes, *edits), (*skipped, *not_edited))


def _episode_file(episode: Episode, title: str) -> str:
    return f"{episode.code.lower()}-{slugify(_ascii(title), words=6) or 'episode'}.md"
