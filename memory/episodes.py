"""Episode codes as writers and bibles write them, normalised to (season, episode).

Bibles say `S1E5`, `s01e05`, `105`, `1x05`, `ep 5` or `episode 5`; rooms say them all too.
One parser keeps "as of episode 7" meaning the same thing in front matter, chat and the CLI.
Pure functions: no store, no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A code in front matter or a command argument: the whole value is the code.
_FULL = (
    re.compile(r"^s(?P<s>\d{1,2})\s*e(?P<e>\d{1,3})$", re.I),
    re.compile(r"^(?P<s>\d{1,2})x(?P<e>\d{1,3})$", re.I),
    re.compile(r"^(?:ep|ep\.|episode)\s*(?P<e>\d{1,4})$", re.I),
    re.compile(r"^(?P<e>\d{1,4})$"),
)
# A code inside prose. A bare number is not one here ("105 passengers"), and "ep 105"
# still reads as season 1 episode 5, as bibles that number episodes 101-113 write it.
_IN_TEXT = re.compile(
    r"\b(?:s(?P<s>\d{1,2})\s*e(?P<e>\d{1,3})"
    r"|season\s*(?P<ss>\d{1,2}),?\s*(?:ep\.?|episode)\s*(?P<se>\d{1,3})"
    r"|(?P<xs>\d{1,2})x(?P<xe>\d{2})"  # 1x05; "a 2x4" is timber
    r"|(?:ep\.?|episode)\s*(?P<n>\d{1,4}))\b",
    re.I,
)


class EpisodeCodeError(ValueError):
    """A value that should name an episode and does not; says which forms work."""

    def __init__(self, value: object) -> None:
        self.value = value
        super().__init__(
            f"'{value}' is not an episode code. Use a form like S1E07, s01e07, 107, 1x07 "
            "or 'episode 7'."
        )


@dataclass(frozen=True, order=True)
class Episode:
    """An episode of the show; ordered by season, then episode. Episode 0 of a season means
    before its first episode (a character who died before the series began)."""

    season: int
    episode: int

    @property
    def code(self) -> str:
        return f"S{self.season}E{self.episode:02d}"

    @property
    def ordinal(self) -> int:
        """One integer that sorts like the episode, for store metadata that wants numbers."""
        return self.season * 1000 + self.episode

    @classmethod
    def from_ordinal(cls, value: int) -> Episode:
        return cls(value // 1000, value % 1000)

    def __str__(self) -> str:
        return self.code


def _split_number(number: str, season: int) -> Episode:
    """`7` is an episode of the show's season; `107` and `1207` carry their season."""
    value = int(number)
    if len(number) >= 3:
        return Episode(value // 100, value % 100)
    return Episode(season, value)


def parse_episode(value: object, season: int = 1) -> Episode:
    """A front-matter value or a writer's argument -> Episode; raises EpisodeCodeError."""
    if isinstance(value, bool) or value is None:
        raise EpisodeCodeError(value)
    # A number is read by its digits, as a code: 7, 107 and 1207 are episodes; -4 and 10**30
    # are not (their ordinals would not fit the store's 64-bit numbers).
    text = str(value).strip()
    for pattern in _FULL:
        match = pattern.match(text)
        if not match:
            continue
        parts = match.groupdict()
        if parts.get("s") is not None:
            return Episode(int(parts["s"]), int(parts["e"]))
        return _split_number(parts["e"], season)
    raise EpisodeCodeError(value)


def episodes_in(text: str, season: int = 1) -> list[tuple[int, Episode]]:
    """Episode codes written in prose, each with its character offset, in order."""
    found: list[tuple[int, Episode]] = []
    for match in _IN_TEXT.finditer(text):
        if match.group("s") is not None:
            found.append((match.start(), Episode(int(match.group("s")), int(match.group("e")))))
        elif match.group("ss") is not None:
            found.append((match.start(), Episode(int(match.group("ss")), int(match.group("se")))))
        elif match.group("xs") is not None:
            found.append((match.start(), Episode(int(match.group("xs")), int(match.group("xe")))))
        else:
            found.append((match.start(), _split_number(match.group("n"), season)))
    return found


def looks_like_episode(value: object) -> bool:
    """For a field that may or may not hold an episode (`met_in`, `born_in`): only a code
    that says it is one (S1E04, 1x04, ep 4), never a bare number or a place."""
    return isinstance(value, str) and bool(
        re.fullmatch(
            r"\s*(?:s\d{1,2}\s*e\d{1,3}|\d{1,2}x\d{1,3}|(?:ep\.?|episode)\s*\d{1,4})\s*",
            value,
            re.I,
        )
    )


def is_episode_field(key: str) -> bool:
    """Front-matter fields that hold an episode: `episode`, `*_episode`, `*_in`."""
    return key == "episode" or key.endswith("_episode") or key.endswith("_in")
