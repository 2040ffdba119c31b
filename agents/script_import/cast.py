"""Who speaks in a script, by the bible's names: each cue matched to a character, kept as a
new one, or skipped with the reason.

A cue matches a character's name or public alias (compared the way the bible compares names:
case, punctuation and a leading 'the' aside), or a secret alias or a secretly revealed
character only in episodes from its reveal on; an unreadable reveal never matches, as the
bible keeps such a secret until it is fixed. Failing that, one word of a name matches when no
other character, in the bible or new in this script, has that word: the candidates are the
same on a second import (when this script's new characters are in the bible) as on the first,
so a re-import matches every cue the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from agents.screenplay.model import Scene
from agents.script_import.folder import IMPORTED, Entry
from memory.bible_dates import UNREADABLE
from memory.episodes import Episode
from memory.lexical import normalise_name


@dataclass
class New:
    name: str  # as the stub names it: 'McKinnon'
    cue: str  # as first written: 'McKINNON'
    lines: int = 0


@dataclass
class Cast:
    known: dict[str, Entry] = field(default_factory=dict)  # normalised cue -> entry
    new: dict[str, New] = field(default_factory=dict)  # normalised cue -> new character
    skipped: dict[str, tuple[str, str]] = field(default_factory=dict)  # -> (cue, why)
    # a one-word cue for a new character's longer cue ('JOE' for 'JOE OKONKWO') -> that cue
    merged: dict[str, str] = field(default_factory=dict)

    def name_of(self, cue: str) -> str:
        """How the episode file names a cue's speaker."""
        key = normalise_name(cue)
        key = self.merged.get(key, key)
        if key in self.known:
            return self.known[key].name
        if key in self.new:
            return self.new[key].name
        return cue


def display_name(cue: str) -> str:
    """A cue as a name: 'INES' -> 'Ines', 'McKINNON' -> 'McKinnon', 'HARBOUR CLERK' ->
    'Harbour Clerk'; a word with lowercase letters keeps them."""

    def word(w: str) -> str:
        if w.isupper():
            return w.capitalize()
        head = re.match(r"^(.*[a-z])([A-Z].*)$", w)
        return head.group(1) + head.group(2).capitalize() if head else w

    return " ".join(word(w) for w in cue.split())


def _hidden(when: int, episode: Episode, what: str) -> str | None:
    """Why a name must not be used for ``episode``, if it must not."""
    if when == UNREADABLE:
        return (
            f"{what} has a reveal code the bible cannot read, so it stays secret until that "
            "is fixed: left unmatched"
        )
    if episode.ordinal < when:
        shown = Episode.from_ordinal(when).code
        return (
            f"{what} is kept secret by the bible until {shown}: left unmatched so "
            f"{episode.code} does not reveal it"
        )
    return None


def _secret_until(entry: Entry) -> int | None:
    """The episode a character is kept secret until (its file's ``reveal``); a stub an
    import wrote is revealed where it first speaks, which an earlier import moves back."""
    return None if entry.source == IMPORTED else entry.reveal


def exact(key: str, characters: Sequence[Entry], episode: Episode) -> Entry | str | None:
    """The character whose name or alias the cue is; a reason where that is a secret."""
    for entry in characters:
        public = {normalise_name(n) for n in (entry.name, *entry.aliases)}
        secret = [when for alias, when in entry.secret if normalise_name(alias) == key]
        if key not in public and not secret:
            continue
        why = None
        if _secret_until(entry) is not None:
            why = _hidden(entry.reveal or 0, episode, "this character")
        if why is None and key not in public:
            why = _hidden(min(secret), episode, "this name")
        return why if why is not None else entry
    return None


@dataclass(frozen=True)
class NewCue:
    key: str  # a new character's normalised cue


Candidate = tuple[str, Entry | NewCue]  # a name, and its entry or new character's cue


def one_word(key: str, names: Sequence[Candidate]) -> Entry | NewCue | str | None:
    """What a one-word cue ('OKONKWO') is one word of: a character, a new character, or a
    reason where it is one word of several names."""
    if " " in key:
        return None
    hits = [(n, e) for n, e in names if key in normalise_name(n).split()]
    if len(hits) == 1:
        return hits[0][1]
    if len(hits) > 1:
        who = " or ".join(dict.fromkeys(n for n, _ in hits))
        return f"could be {who}: add the cue as an alias to the right one and import again"
    return None


def cast_of(found: Sequence[Scene], characters: Sequence[Entry], episode: Episode) -> Cast:
    cast = Cast()
    cues: dict[str, str] = {}  # normalised -> as first written
    lines: dict[str, int] = {}
    for scene in found:
        for speech in scene.speeches():
            key = normalise_name(speech.name)
            if not key:
                continue
            cues.setdefault(key, speech.name)
            lines[key] = lines.get(key, 0) + max(1, len(speech.lines))
    unmatched: list[str] = []
    for key, cue in cues.items():
        hit = exact(key, characters, episode)
        if isinstance(hit, Entry):
            cast.known[key] = hit
        elif isinstance(hit, str):
            cast.skipped[key] = (cue, hit)
        else:
            unmatched.append(key)
    # A secret character is no candidate: a one-word match must not reveal it, nor may a
    # reason name it; a cue that is one word of its name is skipped, saying only why.
    hidden = [
        e for e in characters if (when := _secret_until(e)) is not None and episode.ordinal < when
    ]
    visible = [e for e in characters if e not in hidden]
    candidates: list[Candidate] = [(e.name, e) for e in visible]
    candidates += [(display_name(cues[k]), NewCue(k)) for k in unmatched]
    fresh: list[str] = []
    for key in unmatched:
        secret = next((e for e in hidden if key in normalise_name(e.name).split()), None)
        if secret is not None:
            why = _hidden(secret.reveal or 0, episode, "this character")
            cast.skipped[key] = (cues[key], why or "")
            continue
        word = one_word(key, [(n, e) for n, e in candidates if e != NewCue(key)])
        if isinstance(word, Entry):
            cast.known[key] = word
        elif isinstance(word, NewCue):
            cast.merged[key] = word.key
        elif word is not None:
            cast.skipped[key] = (cues[key], word)
        else:
            fresh.append(key)
    for key in fresh:
        said = lines[key] + sum(lines[k] for k, to in cast.merged.items() if to == key)
        cast.new[key] = New(display_name(cues[key]), cues[key], said)
    return cast
