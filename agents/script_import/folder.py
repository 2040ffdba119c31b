"""What a script import needs to know of a bible folder, read from its files (the source
of truth), and the one edit it makes to a file it did not write: ``appears_in``.

The edit touches the front matter's ``appears_in`` line(s) only; every other byte of the
file is kept, so a writer's own formatting, comments and field order survive an import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from memory.bible_dates import REVEAL_TAG
from memory.bible_parse import BibleFileError, split_front_matter
from memory.bible_read import UnreadableFile, read_bible_text
from memory.episodes import Episode, EpisodeCodeError, parse_episode

IMPORTED = "imported"  # the `source` of files an import wrote


@dataclass(frozen=True)
class Entry:
    """A bible file of a type an import reads: a character or an episode."""

    rel: str
    type: str
    name: str
    aliases: tuple[str, ...]
    # aliases the bible keeps secret until an episode ('the Lamplighter {reveal: S1E06}')
    secret: tuple[tuple[str, Episode | None], ...]
    source: str
    episode: Episode | None  # an episode file's own episode (its first_episode)
    appears_in: tuple[str, ...]
    text: str


def _episode(value: object) -> Episode | None:
    try:
        return parse_episode(value) if value is not None else None
    except EpisodeCodeError:
        return None


def _entry(folder: Path, path: Path) -> Entry | None:
    rel = path.relative_to(folder).as_posix()
    try:
        text = read_bible_text(path)
        data, _, _ = split_front_matter(rel, text)
    except (UnreadableFile, BibleFileError):
        return None  # the ingest reports it; an import neither reads nor touches it
    kind, name = data.get("type"), data.get("name")
    if kind not in ("character", "episode") or not isinstance(name, str):
        return None
    aliases = data.get("aliases") or []
    aliases = [aliases] if isinstance(aliases, str) else aliases
    seen = data.get("appears_in") or []
    seen = [seen] if isinstance(seen, str | int) else seen
    return Entry(
        rel,
        kind,
        name.strip(),
        tuple(str(a).strip() for a in aliases if str(a).strip() and not REVEAL_TAG.search(str(a))),
        tuple(
            (REVEAL_TAG.sub(" ", str(a)).strip(), _episode(m.group(1)))
            for a in aliases
            if (m := REVEAL_TAG.search(str(a)))
        ),
        str(data.get("source") or ""),
        _episode(data.get("first_episode")) if kind == "episode" else None,
        tuple(str(s) for s in seen) if isinstance(seen, list) else (),
        text,
    )


def read_entries(folder: Path) -> list[Entry]:
    """The folder's characters and episodes, in path order; hidden files and folders are
    not the bible's (the ingest skips them too)."""
    paths = sorted(
        p
        for p in folder.rglob("*.md")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    return [e for p in paths if (e := _entry(folder, p)) is not None]


# The key's line and a block list's item lines under it ('- S1E03', indented or not).
_APPEARS = re.compile(r"^appears_in\s*:.*(?:\n[ \t]*-.*)*\n?", re.M)


def with_appearance(text: str, code: str) -> str | None:
    """``text`` (a bible file) with ``code`` in its front matter's ``appears_in``, episodes
    in order; None when it is there already."""
    end = text.index("\n---", 3) + 1  # the closing line (the file parsed, so it is there)
    matter = text[:end]
    data = yaml.safe_load(matter.strip("-\n")) or {}
    listed = data.get("appears_in") or []
    listed = [listed] if isinstance(listed, str | int) else list(listed)
    codes = [str(v) for v in listed]
    wanted = parse_episode(code)
    if any(_episode(v) == wanted for v in codes):
        return None
    codes.append(code)
    codes.sort(key=lambda v: _episode(v) or Episode(0, 0))
    line = f"appears_in: [{', '.join(codes)}]\n"
    if _APPEARS.search(matter):
        matter = _APPEARS.sub(lambda _: line, matter, count=1)
    else:
        matter += line
    return matter + text[end:]
