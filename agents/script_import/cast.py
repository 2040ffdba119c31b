"""Who speaks in a script, by the bible's names: each cue matched to a character, kept as a
new one, or skipped with the reason.

A cue matches a character's name or public alias (case, accents, punctuation and a leading
'the' aside: 'INSPECTOR' is "the inspector", 'ZOË' is 'Zoe'), or a secret alias or a
character whose whole file is revealed later only in episodes from its reveal on; an
unreadable reveal never matches, as the bible keeps such a secret until it is fixed. Failing
that, one word of a hand-written character's name matches when no other such character has
that word ('OKONKWO' is Ada Okonkwo). Stubs an earlier import wrote are matched by their
name or cue only, and new cues never merge with each other ('MAN' is not 'OLD MAN'): so a
re-import, when this script's new characters are in the bible, matches every cue as the first
import did. A reason never names a character the room may not see yet.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from agents.screenplay.model import Scene
from agents.script_import.folder import IMPORTED, Entry
from memory.bible_dates import UNREADABLE
from memory.episodes import Episode


def cue_key(name: str) -> str:
    """A name as cues and the bible are compared: accents, case, punctuation and a leading
    article dropped; letters of every script kept ('ΕΛΕΝΗ', 'МАРИНА', '渡辺')."""
    folded = unicodedata.normalize("NFKD", name.replace("\u2019", "'"))
    plain = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    words = re.sub(r"[\W_]+", " ", plain).split()
    if len(words) > 1 and words[0] in ("the", "a", "an"):
        words = words[1:]
    return " ".join(words)


@dataclass
class New:
    name: str  # as the stub names it: 'McKinnon'
    cue: str  # as first written: 'McKINNON'
    lines: int = 0


@dataclass
class Cast:
    known: dict[str, Entry] = field(default_factory=dict)  # cue key -> entry
    new: dict[str, New] = field(default_factory=dict)  # cue key -> new character
    skipped: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (cue, why)
    hidden: list[Entry] = field(default_factory=list)  # characters kept secret here

    def name_of(self, cue: str) -> str:
        """How the episode file names a cue's speaker."""
        key = cue_key(cue)
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


def own_stub(entry: Entry) -> bool:
    """A stub an import wrote and no writer has re-dated: revealed where it first speaks."""
    return (
        entry.source == IMPORTED
        and entry.first is not None
        and entry.reveal in (None, entry.first.ordinal)
    )


def secret_until(entry: Entry) -> int | None:
    """The episode (ordinal) a character is kept secret until: its file's ``reveal``. An
    import's own stub is not kept secret from an earlier import, which moves it back."""
    return None if own_stub(entry) else entry.reveal


def _hidden(when: int, episode: Episode, what: str) -> str | None:
    """Why a name must not be used for ``episode``, if it must not; the reason gives no
    episode and no name, so the report tells the room nothing the bible hides."""
    if when == UNREADABLE or episode.ordinal < when:
        return (
            f"{what} the bible keeps secret at {episode.code}: left unmatched so this episode "
            "does not reveal it; match it by hand if it should"
        )
    return None


def exact(key: str, characters: Sequence[Entry], episode: Episode) -> Entry | str | None:
    """The character whose name or alias the cue is; a reason where that is a secret. A
    character the room may see is preferred to a secret one that shares the name."""

    def secret_of(entry: Entry) -> str | None:
        public = {cue_key(n) for n in (entry.name, *entry.aliases)}
        secret = [when for alias, when in entry.secret if cue_key(alias) == key]
        if key not in public and not secret:
            return "no"
        whole = secret_until(entry)
        why = _hidden(whole, episode, "a character") if whole is not None else None
        if why is None and key not in public:
            why = _hidden(min(secret), episode, "a name")
        return why

    matched = [(e, secret_of(e)) for e in characters]
    matched = [(e, why) for e, why in matched if why != "no"]
    for entry, why in matched:
        if why is None:
            return entry
    return matched[0][1] if matched else None


def one_word(key: str, characters: Sequence[Entry]) -> Entry | str | None:
    """The hand-written character a one-word cue ('OKONKWO') is one word of; a reason where
    it is one word of several."""
    if " " in key:
        return None
    hits = [e for e in characters if key in cue_key(e.name).split()]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        who = " or ".join(dict.fromkeys(e.name for e in hits))
        return f"could be {who}: add the cue as an alias to the right one and import again"
    return None


def cast_of(found: Sequence[Scene], characters: Sequence[Entry], episode: Episode) -> Cast:
    cues: dict[str, str] = {}  # key -> as first written
    lines: dict[str, int] = {}
    cast = Cast()
    for scene in found:
        for speech in scene.speeches():
            key = cue_key(speech.name) or speech.name
            cues.setdefault(key, speech.name)
            lines[key] = lines.get(key, 0) + max(1, len(speech.lines))
    cast.hidden = [
        e for e in characters if (when := secret_until(e)) is not None and episode.ordinal < when
    ]
    # One-word candidates: hand-written characters the room may see (see the docstring).
    candidates = [e for e in characters if e.source != IMPORTED and e not in cast.hidden]
    for key, cue in cues.items():
        if not cue_key(cue):
            cast.skipped[key] = (cue, "a cue with no letters: left out")
            continue
        hit = exact(key, characters, episode)
        if hit is None:
            hit = one_word(key, candidates)
        if isinstance(hit, Entry):
            cast.known[key] = hit
        elif isinstance(hit, str):
            cast.skipped[key] = (cue, hit)
        else:
            cast.new[key] = New(display_name(cue), cue, lines[key])
    return cast
