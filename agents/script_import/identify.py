"""Which episode a script is, and its title: from what the writer said, else the title
page, else the file's name. Asked for rather than guessed when none of them says.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from agents.screenplay.model import Script
from memory.episodes import Episode, EpisodeCodeError, episodes_in, parse_episode

# A title in double quotes, straight or curly; single quotes are apostrophes too often
# ("The Captain's Daughter's Wedding") to be read as quote marks.
_QUOTED = re.compile(r"[\"“]([^\"“”]{2,80})[\"”]")
# A code at the start of a file name: s2e01_, 1x07 , ep7_, or three bare digits (201-) not
# followed by more numbers ('2026-11-24 pilot' and '2026_draft' are dates, not episodes).
_NAME_CODE = re.compile(
    r"^(?:s\d{1,2}e\d{1,3}|\d{1,2}x\d{1,3}|ep\.?\d{1,4}|\d{3}(?!\d)(?![\W_]+\d))(?=[\W_]|$)",
    re.I,
)


class NoEpisode(ValueError):
    """The episode cannot be told; the message says how to name it."""


def episode_of(script: Script, file_name: str, given: str | None, season: int) -> Episode:
    """``given`` (the writer's --episode) wins; else a title page's 'Episode' field or a code
    in its text; else a code opening the file's name."""
    if given:
        try:
            return parse_episode(given.strip(), season)
        except EpisodeCodeError as exc:
            raise NoEpisode(str(exc)) from exc
    page = script.title_page
    for key, value in page.items():
        if key.lower() in ("episode", "episode number", "ep"):
            try:
                return parse_episode(value.strip(), season)
            except EpisodeCodeError:
                break
    for value in page.values():
        found = episodes_in(value, season)
        if found:
            return found[0][1]
    stem = PurePath(file_name).stem
    head = _NAME_CODE.match(stem)
    if head:
        try:
            named = parse_episode(head.group(0).replace("_", ""), season)
        except EpisodeCodeError:
            named = None
        if named is not None and named.episode > 0:  # '100 days.fountain' is no episode 0
            return named
    raise NoEpisode(
        "I cannot tell which episode this script is: its title page and file name name none. "
        "Say it, like S2E01"
    )


def title_of(script: Script, file_name: str) -> str:
    """The quoted part of the title page's title ('THE LANTERN LINE “The Lamp Room”'), else
    a title-page line that is a quoted title and nothing else (a TV title page in Final
    Draft puts the show first, then “The Episode”), else the title, else the file's name
    without its episode code."""
    title = " ".join(script.title.split())
    quoted = _QUOTED.search(title)
    if quoted:
        return " ".join(quoted.group(1).split())
    for key, value in list(script.title_page.items())[:4]:
        # Final Draft's title page has no field names: its first lines, read as 'Line N'.
        whole = _QUOTED.fullmatch(value.strip()) if key.startswith("Line ") else None
        if whole:
            return " ".join(whole.group(1).split())
    if title:
        return title
    stem = _NAME_CODE.sub("", PurePath(file_name).stem)
    words = re.sub(r"[_\-.]+", " ", stem).split()
    return " ".join(w.capitalize() for w in words) or "Untitled"
