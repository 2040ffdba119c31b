"""What a script import needs to know of a bible folder, read from its files (the source
of truth) the way the ingest reads them, and the edits it makes to files it did not write.

Episodes and reveals are read with the bible's own rules (``memory.bible_dates``: a file's
``season``, ``episode`` or ``first_episode``, a file-level ``reveal`` and secret aliases),
so an import sees exactly what the bible would show a room breaking that episode, no more.

An edit (``appears_in``, an imported stub's ``first_episode``) replaces that front-matter
field's own text and nothing else; the file keeps its encoding, byte-order mark and line
endings. A field that cannot be rewritten safely is left alone, and the import says so.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from memory.bible_dates import (
    ALIAS_REVEALS,
    EPISODE_PREFIX,
    REVEAL_TAG,
    UNREADABLE,
    episode_metadata,
    season_of,
)
from memory.bible_parse import BibleFileError, split_front_matter
from memory.bible_read import UnreadableFile, decode_bible_bytes
from memory.episodes import Episode, EpisodeCodeError, parse_episode

IMPORTED = "imported"  # the `source` of files an import wrote

# A byte-order mark and the codec that writes a file back with it.
_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True)
class Entry:
    """A bible file of a type an import reads: a character or an episode."""

    rel: str
    type: str
    name: str
    aliases: tuple[str, ...]  # public ones only
    secret: tuple[tuple[str, int], ...]  # (alias, the episode ordinal it is revealed in)
    reveal: int | None  # the whole file's reveal (an episode ordinal), if it has one
    source: str
    episode: Episode | None  # an episode file's own episode
    first: Episode | None  # a character's first_episode
    text: str  # as read: decoded, line endings made '\n'
    raw: bytes  # as on disk
    decoded: str = ""  # decoded, its own line endings kept (what an edit splices into)


def _ordinal(meta: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = meta.get(EPISODE_PREFIX + key)
        if isinstance(value, int):
            return value
    return None


def _episode(ordinal: int | None) -> Episode | None:
    return None if ordinal is None or ordinal == UNREADABLE else Episode.from_ordinal(ordinal)


def _secrets(meta: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    pairs = (p.rpartition("=") for p in str(meta.get(ALIAS_REVEALS, "")).split("|") if p)
    return tuple((name.strip(), int(when)) for name, _, when in pairs if when.isdigit())


class _DoesNotLoad(Exception):
    """A bible file that cannot be read or has no front matter to read."""


def _entry(folder: Path, path: Path) -> Entry | None:
    """The file as an Entry; None for a type an import does not read (a place, a rule)."""
    rel = path.relative_to(folder).as_posix()
    try:
        raw = path.read_bytes()
        decoded = decode_bible_bytes(raw)
        text = decoded.replace("\r\n", "\n").replace("\r", "\n")
        data, _, _ = split_front_matter(rel, text)
    except (OSError, UnreadableFile, BibleFileError) as exc:
        raise _DoesNotLoad(rel) from exc
    kind, name = data.get("type"), data.get("name")
    if kind not in ("character", "episode") or not isinstance(name, str):
        return None
    meta = episode_metadata(text, data, [])
    aliases = data.get("aliases") or []
    aliases = aliases if isinstance(aliases, list) else [aliases]
    secret = _secrets(meta)
    hidden = {alias for alias, _ in secret}
    public = (str(a).strip() for a in aliases if not REVEAL_TAG.search(str(a)))
    return Entry(
        rel=rel,
        type=kind,
        name=name.strip(),
        aliases=tuple(a for a in public if a and a not in hidden),
        secret=secret,
        reveal=_ordinal(meta, "reveal"),
        source=str(data.get("source") or ""),
        episode=_episode(_ordinal(meta, "episode", "first_episode")) if kind == "episode" else None,
        first=_episode(_ordinal(meta, "first_episode")),
        text=text,
        raw=raw,
        decoded=decoded,
    )


def bible_files(folder: Path) -> list[Path]:
    """The folder's Markdown files in path order; hidden files and folders are not the
    bible's (the ingest skips them too)."""
    return sorted(
        p
        for p in folder.rglob("*.md")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


@dataclass(frozen=True)
class Scanned:
    entries: list[Entry]  # its characters and episodes
    # Files that do not load (lower-cased paths): the ingest reports them and an import
    # neither reads nor touches them; a new character whose file would be one of them is
    # most likely that file's character, so it is not stubbed beside it.
    broken: set[str]


def scan(folder: Path) -> Scanned:
    """Each bible file read once: the characters and episodes, and the files that do not
    load."""
    entries: list[Entry] = []
    broken: set[str] = set()
    for path in bible_files(folder):
        try:
            entry = _entry(folder, path)
        except _DoesNotLoad as exc:
            broken.add(str(exc).lower())
            continue
        if entry is not None:
            entries.append(entry)
    return Scanned(entries, broken)


def read_entries(folder: Path) -> list[Entry]:
    """The folder's characters and episodes."""
    return scan(folder).entries


def taken_paths(folder: Path) -> set[str]:
    """Every path in the folder, lower-cased (a case-insensitive disk holds one of
    'Wren.md' and 'wren.md'): a file an import creates never lands on one of them."""
    return {p.relative_to(folder).as_posix().lower() for p in folder.rglob("*")}


def encoded_like(raw: bytes, text: str) -> bytes:
    """``text`` in the encoding and byte-order mark of the file ``raw`` was read from."""
    for mark, codec in _MARKS:
        if raw.startswith(mark):
            return mark + text.encode(codec)
    return text.encode("utf-8")


class CannotEdit(ValueError):
    """A front-matter field an import will not rewrite (it could not do so safely)."""


def _bounds(text: str) -> tuple[int, int]:
    """Where the front matter's lines are (offsets): after the opening '---' line, up to
    the closing '---' or '...' line, found line by line as the bible's parser finds them."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise CannotEdit("it has no front matter")
    start = offset = len(lines[0])
    for line in lines[1:]:
        if line.strip() in ("---", "..."):
            return start, offset
        offset += len(line)
    raise CannotEdit("its front matter is never closed")


def _line_break(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\r" if "\r" in text and "\n" not in text else "\n"


def _field_span(matter: str, key: str) -> tuple[int, int] | None:
    """Where ``key: value`` is in the front matter (offsets), by YAML's own marks, so a flow
    list over several lines or a block list is replaced whole; None if absent."""
    try:
        node = yaml.compose(matter)
    except yaml.YAMLError as exc:
        raise CannotEdit("its front matter is not YAML this import can rewrite") from exc
    if node is None:
        return None
    if not isinstance(node, yaml.MappingNode):
        raise CannotEdit("its front matter is not 'key: value' lines")
    for k, v in node.value:
        if k.value == key:
            if k.start_mark.column != 0:
                raise CannotEdit(f"its '{key}' line is indented")
            return k.start_mark.index, v.end_mark.index
    return None


def with_field(text: str, key: str, value: str) -> str:
    """``text`` with front-matter ``key`` set to the YAML ``value`` (one line), added at
    the end of the front matter if absent. Every other character of the file is kept, its
    line endings included."""
    start, end = _bounds(text)
    matter = text[start:end]
    newline = _line_break(text)
    span = _field_span(matter, key)
    line = f"{key}: {value}"
    if span is None:
        return text[:end] + line + newline + text[end:]
    a, b = span
    # A block list's end is the next key's start: the line break before it is kept.
    tail = re.search(r"(\r\n|\n|\r)*$", matter[a:b])
    return text[: start + a] + line + (tail.group(0) if tail else "") + text[start + b :]


def front_matter(text: str) -> dict[str, Any]:
    data, _, _ = split_front_matter("", text)
    return data


def _parsed(value: object, season: int) -> Episode | None:
    try:
        return parse_episode(value, season)
    except EpisodeCodeError:
        return None


def with_appearance(text: str, episode: Episode) -> str | None:
    """``text`` (a bible file) with ``episode`` added at the end of its front matter's
    ``appears_in`` (the writer's items kept as written, in their order); None when it is
    there already."""
    data = front_matter(text)
    season = season_of(data)
    listed = data.get("appears_in")
    items = listed if isinstance(listed, list) else [] if listed is None else [listed]
    if any(_parsed(v, season) == episode for v in items):
        return None
    value = yaml.safe_dump([*items, episode.code], default_flow_style=True, allow_unicode=True)
    return with_field(text, "appears_in", " ".join(value.split()))
