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

ENTRY_TYPES = ("character", "location", "episode", "arc", "rule", "note")
# Front-matter keys the store keeps under fixed names; any further field is kept as well.
RESERVED_KEYS = ("file", "heading", "text", "content_hash", "chunk_index")
MAX_CHUNK_WORDS = 180
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
        """What the keyword index sees: the section plus every name it answers to."""
        aliases = str(self.metadata.get("aliases", "")).replace("|", ", ")
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
    try:
        data = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark is not None else None
        problem = exc.problem or "invalid YAML"
        raise BibleFileError(path, line, f"YAML error in front matter: {problem}") from exc
    except yaml.YAMLError as exc:
        raise BibleFileError(path, 2, f"YAML error in front matter: {exc}") from exc
    if not isinstance(data, dict):
        raise BibleFileError(path, 2, "front matter must be 'key: value' lines")
    return data, "\n".join(lines[end + 1 :]), end + 2


def _flatten(value: Any) -> str | int | float | bool | None:
    if value is None:
        return None
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return "|".join(str(v) for v in value)
    return str(value)


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
        key = str(key)
        if key in RESERVED_KEYS:
            key = f"fm_{key}"
        flat = _flatten(value)
        if flat is not None:
            meta[key] = flat
    meta["name"] = name.strip()
    meta["aliases"] = "|".join(str(a).strip() for a in aliases if str(a).strip())
    return meta


def _sections(body: str, title: str) -> list[tuple[str, str]]:
    """Split a body at headings into (heading path, text); text before any heading -> title."""
    stack: list[tuple[int, str]] = []
    out: list[tuple[str, list[str]]] = [(title, [])]
    in_fence = False
    for line in body.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            level, text = len(match.group(1)), match.group(2).strip()
            stack = [(lv, t) for lv, t in stack if lv < level] + [(level, text)]
            out.append((" > ".join(t for _, t in stack), []))
        else:
            out[-1][1].append(line)
    return [(h, "\n".join(lines).strip()) for h, lines in out if "\n".join(lines).strip()]


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


def parse_bible_file(path: Path, rel: str) -> list[Chunk]:
    """Parse one file; raises BibleFileError with the line to fix."""
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BibleFileError(rel, None, "not UTF-8 text") from exc
    data, body, _ = split_front_matter(rel, raw)
    base = front_matter_metadata(rel, data)
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    sections = _sections(body, str(base["name"])) or [(str(base["name"]), str(base["name"]))]
    for heading, text in sections:
        for part in _split_long(text):
            ordinal = seen.get(heading, 0)
            seen[heading] = ordinal + 1
            meta = dict(base)
            meta.update(
                file=rel,
                heading=heading,
                chunk_index=len(chunks),
                content_hash=hashlib.sha1(f"{heading}\n{part}\n{base}".encode()).hexdigest(),
            )
            chunks.append(Chunk(chunk_id(rel, heading, ordinal), rel, heading, part, meta))
    return chunks
