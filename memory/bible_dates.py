"""Episode fields and reveal tags in a bible file, read when it is parsed.

Front-matter dates (`died_in: S1E04`, `resigned_in: S1E05`) become ordinals under
``ep_<field>``; `reveal:` on a file, `{reveal: S1E06}` on a heading or an alias, and an
episode file's own episode decide the first episode a section (or a name) is canon for. A
code that cannot be read is a problem reported with its line, and what it dates stays hidden.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from memory.episodes import EpisodeCodeError, is_episode_field, looks_like_episode, parse_episode

# `## Secret {reveal: S1E06}`: the section is canon only from that episode on.
REVEAL_TAG = re.compile(r"\s*\{\s*reveal\s*:\s*([^}]*)\}\s*", re.I)
# The first episode whose writers may see a chunk (an ordinal, see Episode.ordinal).
VISIBLE_FROM = "visible_from"
EPISODE_PREFIX = "ep_"  # ep_<field>: a front-matter episode field as an ordinal
ALIAS_REVEALS = "alias_reveals"  # 'the Lamplighter=1006|...': aliases that are secrets
# A reveal that cannot be read hides its section whenever an episode is set, until fixed:
# a typo must not hand a secret to the room.
UNREADABLE = 999_999_999
Problems = list[tuple[int | None, str]]  # (line, reason) for the file's warnings


def key_line(raw: str, key: str) -> int | None:
    for number, line in enumerate(raw.splitlines()[1:], start=2):
        if re.match(rf"^\s*{re.escape(key)}\s*:", line):
            return number
    return None


def episode_metadata(raw: str, data: dict[str, Any], problems: Problems) -> dict[str, int | str]:
    """Front-matter episode fields as ordinals (`ep_died_in`), plus `visible_from` for files
    that reveal something (`reveal:`) or are a later episode. A code that cannot be read is
    reported with its line and left out; the rest of the file is still canon."""
    season = season_of(data)
    out: dict[str, int | str] = {}
    if data.get("season") is not None and whole(data["season"]) != season:
        reason = "'season' must be a whole number from 0 to 99; bare episodes here are season 1"
        problems.append((key_line(raw, "season"), reason))
    for key, value in data.items():
        key = str(key)
        if not (is_episode_field(key) or key == "reveal") or value is None:
            continue
        surely = _surely_episode(key, data)
        if not surely and not looks_like_episode(value):
            continue  # born_in: 1987, based_in: Harrowgate
        try:
            out[EPISODE_PREFIX + key] = parse_episode(value, season).ordinal
        except EpisodeCodeError as exc:
            problems.append((key_line(raw, key), f"'{key}': {exc}"))
            # Unknown until fixed: a room breaking any episode is not told it yet.
            out[EPISODE_PREFIX + key] = UNREADABLE
    secret = _alias_reveals(raw, data, season, problems)
    if secret:
        out[ALIAS_REVEALS] = secret
    shown = [out.get(EPISODE_PREFIX + "reveal")]
    if data.get("type") == "episode":
        shown.append(out.get(EPISODE_PREFIX + "episode", out.get(EPISODE_PREFIX + "first_episode")))
    known = [v for v in shown if isinstance(v, int)]
    if known:
        out[VISIBLE_FROM] = max(known)
    return out


def _surely_episode(key: str, data: dict[str, Any]) -> bool:
    """Fields that must hold an episode, so an unreadable value is reported: `episode`,
    `*_episode`, `died_in`, `reveal`, and the date of the entry's own status."""
    status = str(data.get("status", "")).lower()
    return (
        key in ("episode", "died_in", "reveal") or key.endswith("_episode") or key == f"{status}_in"
    )


def whole(value: object) -> int | None:
    """A whole number as YAML or Chroma gives it; `true` is not 1."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


SEASONS = range(100)  # as episode codes write them: S1E07 to S99E07


def season_of(data: dict[str, Any]) -> int:
    """The season bare episode numbers in a file are in (`season:`, else 1)."""
    season = whole(data.get("season"))
    return season if season is not None and season in SEASONS else 1


def _reveal(code: str, season: int) -> int | None:
    try:
        return parse_episode(code, season).ordinal
    except EpisodeCodeError:
        return None


def _alias_reveals(raw: str, data: dict[str, Any], season: int, problems: Problems) -> str:
    """`aliases: [Quill, "the Lamplighter {reveal: S1E06}"]`: a name that is itself a
    secret answers for its entry only from that episode on."""
    aliases = data.get("aliases", [])
    secret = []
    for alias in aliases if isinstance(aliases, list) else [aliases]:
        tag = REVEAL_TAG.search(str(alias))
        if tag is None:
            continue
        name = REVEAL_TAG.sub(" ", str(alias)).strip()
        when = _reveal(tag.group(1).strip(), season)
        if when is None:
            reason = f"alias '{name}': {EpisodeCodeError(tag.group(1).strip())}"
            problems.append((key_line(raw, "aliases"), reason))
        secret.append(f"{name}={UNREADABLE if when is None else when}")
    return "|".join(secret)


def section_visible_from(
    reveals: Sequence[str], line: int, base: int | None, season: int, problems: Problems
) -> int | None:
    """The latest of the file's reveal and every reveal on a section's heading path."""
    known = [] if base is None else [base]
    for code in reveals:
        when = _reveal(code, season)
        if when is None:
            reason = f"heading reveal: {EpisodeCodeError(code)} The section stays hidden."
            problems.append((line, reason))
        known.append(UNREADABLE if when is None else when)
    return max(known) if known else None
