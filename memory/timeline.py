"""Structured, dated facts about each bible entry, read from its front matter.

Continuity checks that can be certain (a dead man's line in episode 7) need facts, not
prose: first and last episode, when a character died, when a status began. The bible's
front matter already holds them (`died_in: S1E04`, `resigned_in: S1E05`); ingest stores
each as an ordinal (``ep_<field>``) and this module turns them back into episodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from memory.bible_dates import ALIAS_REVEALS, EPISODE_PREFIX, UNREADABLE, VISIBLE_FROM, whole
from memory.bible_parse import Chunk
from memory.episodes import Episode

DEATH_STATUSES = ("dead", "deceased", "killed", "drowned")
_IN = "_in"


@dataclass(frozen=True)
class EntityFacts:
    name: str
    type: str
    file: str
    aliases: tuple[str, ...] = ()
    status: str | None = None
    role: str | None = None
    first: Episode | None = None
    last: Episode | None = None
    died: Episode | None = None
    # status -> the episode it began in, from `<status>_in` fields (`arrested_in: S1E06`)
    since: Mapping[str, Episode] = field(default_factory=dict)
    status_before: str | None = None
    age: int | None = None
    # aliases that are secrets ("the Lamplighter"), with the episode that reveals each
    secret_aliases: Mapping[str, Episode] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def as_of(self, when: Episode | None) -> EntityFacts:
        """What a room breaking ``when`` may know: no later deaths, statuses, last episodes
        or secret names. A first episode stays (who is not yet on the show is not a secret
        the room keeps from itself)."""
        if when is None:
            return self

        def known(e: Episode | None) -> Episode | None:
            return e if e is not None and e <= when else None

        since = {s: e for s, e in self.since.items() if e <= when}
        status = self.status_as_of(when)
        aliases = tuple(
            a
            for a in self.aliases
            if known(self.secret_aliases.get(a)) or a not in self.secret_aliases
        )
        return replace(
            self,
            aliases=aliases,
            status=status,
            last=known(self.last),
            died=known(self.death),
            since=since,
            secret_aliases={},
        )

    @property
    def is_dead(self) -> bool:
        return self.died is not None or (self.status or "").lower() in DEATH_STATUSES

    @property
    def death(self) -> Episode | None:
        """The episode a dead character died in: `died_in`, else their last episode."""
        if self.died is not None:
            return self.died
        return self.last if self.is_dead else None

    def status_as_of(self, as_of: Episode | None) -> str | None:
        """The status writers breaking ``as_of`` should see, without later spoilers."""
        if as_of is None or self.status is None:
            return self.status
        if self.first is not None and as_of < self.first:
            return "not yet introduced"
        began = self.death if self.is_dead else self.since.get(self.status.lower())
        if began is not None and as_of < began:
            return self.status_before or ("alive" if self.type == "character" else None)
        return self.status

    def introduced_by(self, as_of: Episode | None) -> bool:
        return as_of is None or self.first is None or self.first <= as_of


def visible_from(chunk: Chunk) -> Episode | None:
    """The first episode a chunk is canon for the room, or None when it always is."""
    value = whole(chunk.metadata.get(VISIBLE_FROM))
    return None if value is None else Episode.from_ordinal(value)


def visible(chunk: Chunk, as_of: Episode | None) -> bool:
    first = visible_from(chunk)
    return as_of is None or first is None or first <= as_of


def _episode(meta: Mapping[str, object], key: str) -> Episode | None:
    value = whole(meta.get(EPISODE_PREFIX + key))
    return None if value is None else Episode.from_ordinal(value)


def facts_of(meta: Mapping[str, object]) -> EntityFacts:
    """An entry's facts from one of its chunks' metadata (all carry the front matter)."""
    public = tuple(a for a in str(meta.get("aliases", "")).split("|") if a)
    since = {
        key[len(EPISODE_PREFIX) : -len(_IN)].lower(): episode
        for key in meta
        if key.startswith(EPISODE_PREFIX)
        and key.endswith(_IN)
        and key != EPISODE_PREFIX + "died_in"
        for episode in [_episode(meta, key[len(EPISODE_PREFIX) :])]
        if episode is not None
    }
    status = meta.get("status")
    role = meta.get("role")
    secret = {
        name: Episode.from_ordinal(int(when))
        for item in str(meta.get(ALIAS_REVEALS, "")).split("|")
        if "=" in item
        for name, when in [item.rsplit("=", 1)]
    }
    before = meta.get("status_before")
    age = meta.get("age")
    return EntityFacts(
        name=str(meta.get("name", "")),
        type=str(meta.get("type", "")),
        file=str(meta.get("file", "")),
        aliases=public + tuple(secret),
        status=str(status) if status is not None else None,
        role=str(role) if role is not None else None,
        first=_episode(meta, "first_episode") or _episode(meta, "episode"),
        last=_episode(meta, "last_episode") or _episode(meta, "episode"),
        died=_episode(meta, "died_in"),
        since=since,
        status_before=str(before) if before is not None else None,
        age=whole(age),
        secret_aliases=secret,
    )


def latest_episode(facts: Mapping[str, EntityFacts]) -> Episode | None:
    """The latest episode the bible knows of (episode entries and anyone's dates)."""
    known = [
        e
        for f in facts.values()
        for e in (f.first, f.last, f.died, *f.since.values())
        if e is not None and e.ordinal < UNREADABLE
    ]
    return max(known) if known else None
