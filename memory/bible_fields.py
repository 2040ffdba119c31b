"""Front-matter fields as the store will keep them: every key and value a writer may type
comes back from Chroma as the parser made it (a float to the last place Chroma's own float
text may round: 6.00581e+28 comes back as 6.005809999999999e+28).

YAML gives more than Chroma takes. Chroma refuses a key that is empty or starts with `#` or
`$` (the whole write batch fails, and with it the ingest), silently drops keys starting with
`chroma:`, refuses an int beyond 64 bits or a string holding half a UTF-16 character, turns
other big ints into floats and drops `.nan` and `.inf`. None of these harms canon, so each is
kept on purpose rather than costing the writer the file: such a key is kept as `fm_<key>`
(as are the store's own names, which front matter must not overwrite), such a number as its
text, and a half character as U+FFFD with a warning. What cannot be kept (a field nested
past any use, or front matter that YAML aliases blow up) is a reason to skip the file.
"""

from __future__ import annotations

import math
from typing import Any

from memory.bible_dates import ALIAS_REVEALS, EPISODE_PREFIX, VISIBLE_FROM

Scalar = str | int | float | bool
# The store's own names on a chunk: a front-matter field by the same name is kept as fm_<key>.
STORE_KEYS = ("file", "heading", "text", "content_hash", "chunk_index", VISIBLE_FROM, ALIAS_REVEALS)
KEPT_PREFIX = "fm_"
_CHROMA_PREFIXES = ("#", "$", "chroma:")  # refused ("#", "$") or dropped ("chroma:") by Chroma
MAX_DEPTH = 32  # a bible field is a value or a list; this is far past any real one
# Values plus characters, counting a YAML alias each time it is used: `&a [x, x]`, then
# `&b [*a, *a]` and so on thirty times, is a billion values from a few lines.
MAX_SIZE = 1_000_000
_INT64 = range(-(2**63), 2**63)
_HALF = "\ufffd"
Warnings = list[tuple[str, str]]  # (key, reason)


class FieldError(ValueError):
    """Front matter the store cannot keep; ``key`` is the field at fault, if one is."""

    def __init__(self, key: str | None, reason: str) -> None:
        self.key, self.reason = key, reason
        super().__init__(reason)


class _TooDeep(Exception):
    pass


def clean_front_matter(data: dict[Any, Any]) -> tuple[dict[Any, Any], Warnings]:
    """The front matter with whole characters only, sets as sorted lists (a set's order
    changes between runs, and with it the file's hash) and a bounded size."""
    budget = [MAX_SIZE]
    out: dict[Any, Any] = {}
    warnings: Warnings = []
    for key, value in data.items():
        halves: list[bool] = []
        try:
            out[_clean(key, 0, budget, halves)] = _clean(value, 0, budget, halves)
        except _TooDeep:
            raise FieldError(
                str(key),
                f"'{shown(key)}' is nested more than {MAX_DEPTH} levels deep or refers to "
                "itself; a front-matter field holds a value or a list of values",
            ) from None
        if any(halves):
            reason = (
                f"'{shown(key)}' holds a \\u escape for half a character (a lone UTF-16 "
                f"surrogate), kept as {_HALF}: write the character itself"
            )
            warnings.append((str(key), reason))
    return out, warnings


def shown(key: object) -> str:
    """A key as a reason quotes it: whole characters, and not a page long."""
    text = _whole(str(key))[0]
    return text if len(text) <= 60 else text[:57] + "..."


def _clean(value: Any, depth: int, budget: list[int], halves: list[bool]) -> Any:
    budget[0] -= 1 + (len(value) if isinstance(value, str) else 0)
    if budget[0] < 0:
        raise FieldError(
            None,
            "the front matter is too large (counting each use of a YAML alias); keep long "
            "text in the body, under a heading",
        )
    if isinstance(value, str):
        text, half = _whole(value)
        halves.append(half)
        return text
    if not isinstance(value, dict | list | tuple | set | frozenset):
        return value
    if depth >= MAX_DEPTH:
        raise _TooDeep
    if isinstance(value, dict):
        return {
            _clean(k, depth + 1, budget, halves): _clean(v, depth + 1, budget, halves)
            for k, v in value.items()
        }
    items = [_clean(v, depth + 1, budget, halves) for v in value]
    return sorted(items, key=str) if isinstance(value, set | frozenset) else items


def _whole(text: str) -> tuple[str, bool]:
    """`"\\ud83d\\ude00"` (an emoji as JSON escapes it) is joined into its character; a lone
    half becomes U+FFFD. Returns the text and whether a half was replaced."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text, False
    joined = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return joined, joined.count(_HALF) > text.count(_HALF)


def store_key(key: object) -> str:
    """A front-matter key as a metadata key Chroma keeps under that very name."""
    name = str(key)
    if name in STORE_KEYS or name.startswith(EPISODE_PREFIX) or name.startswith(_CHROMA_PREFIXES):
        return KEPT_PREFIX + name
    return name or KEPT_PREFIX


def store_value(value: object) -> Scalar | None:
    """A front-matter value as Chroma keeps it unchanged; None for none (the key is left out)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if value in _INT64 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    return str(value)
