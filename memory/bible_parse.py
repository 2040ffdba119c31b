"""Parse show-bible Markdown files (YAML front matter + headings) into citable chunks.

Pure functions: no Chroma, no embeddings, so the rules for what a valid bible file is can be
tested alone and reported precisely (path and line) to the writer who broke one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from memory.bible_dates import (
    ALIAS_REVEALS,
    REVEAL_TAG,
    VISIBLE_FROM,
    Problems,
    episode_metadata,
    key_line,
    season_of,
    section_visible_from,
    whole,
)
from memory.bible_fields import FieldError, clean_front_matter, store_key, store_value
from memory.bible_read import UnreadableFile, read_bible_text

ENTRY_TYPES = ("character", "location", "episode", "arc", "rule", "note")
MAX_CHUNK_WORDS = 180
# `[` and `{` nested deeper than this are no bible field; YAML takes seconds to refuse them.
MAX_FLOW_DEPTH = 100
_TOO_DEEP = "front matter is nested too deeply to read; a field holds a value or a list"
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


class BibleFileError(ValueError):
    """A bible file that cannot be ingested; carries the line a writer should look at."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Chunk:
    """One citable piece of canon: a section of a file under a heading path."""

    id: str
    file: str
    heading: str
    text: str
    metadata: dict[str, str | int | float | bool] = field(default_factory=dict)

    @property
    def citation(self) -> str:
        return f"[{self.file} > {self.heading}]"

    @property
    def embed_text(self) -> str:
        """What is embedded: the heading path (which starts with the entry's name) and text.

        Kept short on purpose: embedding cost grows with tokens, and nicknames are matched
        by the keyword and name indexes instead.
        """
        return f"{self.heading}. {self.text}"

    @property
    def index_text(self) -> str:
        """What the keyword index sees: the section plus every name it answers to, except
        names that are secrets (a revealed section says them in its own text)."""
        secret = {s.rsplit("=", 1)[0] for s in str(self.metadata.get(ALIAS_REVEALS, "")).split("|")}
        names = str(self.metadata.get("aliases", "")).split("|")
        aliases = ", ".join(a for a in names if a and a not in secret)
        name, kind = self.metadata.get("name", ""), self.metadata.get("type", "")
        return f"{name} {aliases} {kind}. {self.heading}. {self.text}"


def split_front_matter(path: str, raw: str) -> tuple[dict[str, Any], str, int]:
    """Return (front matter, body, line number where the body starts)."""
    lines = raw.splitlines()
    if not lines or lines[0].strip() != "---":
        raise BibleFileError(path, 1, "no front matter: the file must start with a '---' line")
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        raise BibleFileError(path, 1, "front matter is never closed with a '---' line")
    text = "\n".join(lines[1:end])
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        raise BibleFileError(path, 2, _TOO_DEEP)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark is not None else None
        problem = exc.problem or "invalid YAML"
        raise BibleFileError(path, line, f"YAML error in front matter: {problem}") from exc
    except yaml.YAMLError as exc:
        raise BibleFileError(path, 2, f"YAML error in front matter: {exc}") from exc
    except RecursionError:  # nesting _flow_depth cannot see (indentation, quoted brackets)
        raise BibleFileError(path, 2, _TOO_DEEP) from None
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        # YAML reads `2023-02-30` as a date and `0x_` as a number, then Python refuses them.
        detail = f" ({exc})" if isinstance(exc, ValueError) else ""
        reason = (
            f"a value in the front matter cannot be read{detail}: check its dates and "
            "numbers, or put the value in quotes"
        )
        raise BibleFileError(path, None, reason) from exc
    if not isinstance(data, dict):
        raise BibleFileError(path, 2, "front matter must be 'key: value' lines")
    return data, "\n".join(lines[end + 1 :]), end + 2


def _flow_depth(text: str) -> int:
    """How deep `[` and `{` open, quoted ones counted too: a first look, cheap where YAML's
    scanner slows with every level it holds open."""
    depth = deepest = 0
    for bracket in re.sub(r"[^\[\]{}]", "", text):
        depth = depth + 1 if bracket in "[{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


def front_matter_metadata(path: str, data: dict[str, Any]) -> dict[str, str | int | float | bool]:
    """Validate front matter and flatten it into Chroma-compatible metadata."""
    entry_type = data.get("type")
    if entry_type not in ENTRY_TYPES:
        raise BibleFileError(
            path, 2, f"'type' must be one of {', '.join(ENTRY_TYPES)} (found {entry_type!r})"
        )
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BibleFileError(path, 2, "'name' is missing: every bible file needs a name")
    aliases = data.get("aliases", [])
    if isinstance(aliases, str):
        aliases = [aliases]
    if not isinstance(aliases, list):
        raise BibleFileError(path, 2, "'aliases' must be a list, like [Cap, Mare]")
    meta: dict[str, str | int | float | bool] = {}
    for key, value in data.items():
        flat = store_value(value)
        if flat is not None:
            meta[store_key(key)] = flat
    meta["name"] = name.strip()
    # A secret alias is kept only in `alias_reveals` (see episode_metadata): what reads the
    # plain aliases (keyword scoring, verification) must not learn it.
    public = [str(a).strip() for a in aliases if not REVEAL_TAG.search(str(a))]
    meta["aliases"] = "|".join(a for a in public if a)
    return meta


@dataclass(frozen=True)
class _Section:
    heading: str
    text: str
    reveals: tuple[str, ...]  # the raw {reveal: ...} codes on its heading and its parents'
    line: int  # where its heading is, for errors


def _sections(body: str, title: str, first_line: int) -> list[_Section]:
    """Split a body at headings; text before any heading goes under the title."""
    stack: list[tuple[int, str, str | None]] = []
    out: list[tuple[str, tuple[str, ...], int, list[str]]] = [(title, (), first_line, [])]
    in_fence = False
    for number, line in enumerate(body.splitlines(), start=first_line):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            level, text = len(match.group(1)), match.group(2).strip()
            tag = REVEAL_TAG.search(text)
            reveal = tag.group(1).strip() if tag else None
            text = REVEAL_TAG.sub(" ", text).strip()
            stack = [item for item in stack if item[0] < level] + [(level, text, reveal)]
            tags = tuple(r for _, _, r in stack if r)
            out.append((" > ".join(t for _, t, _ in stack), tags, number, []))
        else:
            out[-1][3].append(line)
    return [
        _Section(h, "\n".join(lines).strip(), reveals, number)
        for h, reveals, number, lines in out
        if "\n".join(lines).strip()
    ]


def _split_long(text: str) -> list[str]:
    """Keep chunks under the embedder's window by splitting at paragraph boundaries."""
    parts: list[str] = []
    current: list[str] = []
    words = 0
    for para in re.split(r"\n\s*\n", text):
        n = len(para.split())
        if current and words + n > MAX_CHUNK_WORDS:
            parts.append("\n\n".join(current))
            current, words = [], 0
        current.append(para)
        words += n
    if current:
        parts.append("\n\n".join(current))
    return parts


def chunk_id(file: str, heading: str, ordinal: int) -> str:
    digest = hashlib.sha1(f"{file}\x00{heading}\x00{ordinal}".encode()).hexdigest()[:20]
    return f"c_{digest}"


def parse_bible_file(
    path: Path, rel: str, warnings: list[BibleFileError] | None = None
) -> list[Chunk]:
    """Parse one file; raises BibleFileError with the line to fix. Problems that leave the
    file usable (an episode code that cannot be read) go to ``warnings``."""
    try:
        raw = read_bible_text(path)
    except UnreadableFile as exc:
        raise BibleFileError(rel, exc.line, exc.reason) from exc
    data, body, body_line = split_front_matter(rel, raw)
    problems: Problems = []
    try:
        data, halves = clean_front_matter(data)
    except FieldError as exc:
        line = key_line(raw, exc.key) if exc.key else None
        raise BibleFileError(rel, line or 2, exc.reason) from exc
    problems += [(key_line(raw, key), reason) for key, reason in halves]
    base = front_matter_metadata(rel, data)
    base.update(episode_metadata(raw, data, problems))
    season = season_of(data)
    file_from = base.pop(VISIBLE_FROM, None)
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    title = str(base["name"])
    sections = _sections(body, title, body_line) or [_Section(title, title, (), body_line)]
    for section in sections:
        shown = section_visible_from(
            section.reveals, section.line, whole(file_from), season, problems
        )
        for part in _split_long(section.text):
            ordinal = seen.get(section.heading, 0)
            seen[section.heading] = ordinal + 1
            meta = dict(base)
            if shown is not None:
                meta[VISIBLE_FROM] = shown
            meta.update(
                file=rel,
                heading=section.heading,
                chunk_index=len(chunks),
                content_hash=hashlib.sha1(
                    f"{section.heading}\n{part}\n{meta}".encode()
                ).hexdigest(),
            )
            chunks.append(
                Chunk(chunk_id(rel, section.heading, ordinal), rel, section.heading, part, meta)
            )
    if warnings is not None:
        warnings += [BibleFileError(rel, line, reason) for line, reason in problems]
    return chunks
