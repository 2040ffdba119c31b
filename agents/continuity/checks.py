"""Deterministic continuity checks: a claim against the bible's dated facts.

No model and no search: a dead character acting after their death, anyone on screen before
their first episode or after their last, a status contradicted (a resigned harbour master
still signing papers, an arrested man walking free, a dead one recovering), an age that
disagrees with the front matter. These are fast enough to run on every pitch, and certain
enough to say so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from agents.canon import citation
from agents.continuity.claims import Claim, Mention, content_stems, sentences
from agents.continuity.numbers import MEASURE_WORDS, Measure, measures, number_at
from agents.continuity.report import Flag, Kind, Severity
from memory.bible_parse import Chunk

# A claim about the past, a memory or a dead man's things does not put him on screen.
_MEMORY = re.compile(
    r"\b(flashbacks?|flash(?:es)? back|memor(?:y|ies)|remember(?:s|ed|ing)?|recall(?:s|ed)?|"
    r"dreams?|dreamt|nightmares?|years? (?:ago|before|earlier)|photos?|photographs? of|"
    r"videos?|recordings?|voicemails?|grave|funeral|wake|mourn\w*|griev\w*|ghost of|"
    r"death|died|drowned|body|ashes|memorial|in memory|killed|murder\w*|buried|burial)\b",
    re.I,
)
_ALIVE = re.compile(
    r"\b(alive|recover\w*|surviv\w*|hospital|living|wounded|injured|near-drown\w*|"
    r"back from the dead|not dead)\b",
    re.I,
)
_FREE = re.compile(r"\b(free|released|at large|escapes?|walks out)\b", re.I)
# Said of someone else, or of the past: "the new harbour master", "the former harbour master".
_NOT_ANY_MORE = re.compile(
    r"\b(former|ex-|no longer|once|used to|retired|old|new|acting|next|another|replacement)"
    r"\W+(?:\w+\W+){0,2}$",
    re.I,
)
# "thinks of Benedikt", "talks about Toby", "a note from Toby", "inherits it from Old Ben"
# (but "grabs the rope from Toby" has him there)
_SPOKEN_OF = re.compile(
    r"(?:\b(?:of|about)|\b(?:note|letter|message|gift|text|postcard|parcel|inherit\w*|"
    r"heard|hears|learn\w*)\s+(?:\S+\s+){0,3}from)\s+$",
    re.I,
)
_REPLACED = re.compile(r"^\s*,?\s*(?:who|that)?\s*(?:replaced|replaces|succeeded|took over)", re.I)
NEAR = 25  # characters between a role and the name it is said of
_AFTER = re.compile(r"\b(end of|after|later|finale's end|by the end)\b", re.I)
_STILL = re.compile(r"^\W*(?:'s|’s|is|was)?\s*still\b", re.I)
# Backstory told in the past tense right after the name ("Benedikt wrote the rule"); not
# "Toby, soaked, climbs aboard". A backstory verb is backstory even in an episode's text.
_BACKSTORY = re.compile(r"^\s+(was|had|wrote|used to|taught|left|built|said|made)\b", re.I)
_PAST_TENSE = re.compile(r"^\s+\w+ed\b", re.I)
ROLE_ENDING = ("resigned", "retired", "fired", "dismissed", "sacked", "demoted", "suspended")
CUSTODY = ("arrested", "jailed", "imprisoned", "in custody", "convicted")
DEATH_WORDS = ("died", "dies", "death", "drown", "killed", "dead")


def section_for(chunks: Sequence[Chunk], words: Sequence[str]) -> Chunk | None:
    """The section of an entry that states a fact: the first whose text has one of the
    words, else the entry's first section."""
    for chunk in chunks:
        low = chunk.text.lower()
        if any(w in low for w in words):
            return chunk
    return chunks[0] if chunks else None


def _flag(
    claim: Claim,
    explanation: str,
    kind: Kind,
    chunk: Chunk | None,
    *,
    certain: bool = True,
    severity: Severity = "high",
) -> Flag | None:
    """A flag with its evidence; none without a section to cite."""
    if chunk is None:
        return None
    return Flag(
        claim=claim.text,
        explanation=explanation,
        severity=severity,
        kind=kind,
        certain=certain,
        sources=[citation(chunk)],
    )


def _who(m: Mention) -> str:
    """'Old Ben' (Benedikt Sauer): an alias says which entry it was resolved to."""
    return m.facts.name if m.said == m.facts.name else f"'{m.said}' ({m.facts.name})"


def _remembered(claim: Claim) -> bool:
    """A flashback, a memory, a grave: said of the claim, not of a place ("Drowned Quay")."""
    text = claim.text
    for place in sorted(claim.where, key=lambda p: -p.start):
        text = text[: place.start] + text[place.end :]
    return bool(_MEMORY.search(text))


def _on_screen(claim: Claim, m: Mention) -> bool:
    """Is the character there in person? Not in a memory, as a possession, or in the past."""
    if _remembered(claim) or m.possessive(claim.text):
        return False
    if _SPOKEN_OF.search(claim.text[: m.start]):
        return False
    after = claim.text[m.end :]
    if _BACKSTORY.match(after):
        return False
    # Any other past tense is backstory, unless the text put the sentence in an episode.
    return claim.when_said or not _PAST_TENSE.match(after)


def dead_or_absent(claim: Claim, m: Mention, chunks: Sequence[Chunk]) -> Flag | None:
    facts, when = m.facts, claim.when
    death = facts.death
    after_death = death is not None and (
        (when is None and death.episode == 0) or (when is not None and when > death)
    )
    if after_death:
        assert death is not None
        if not _on_screen(claim, m):
            return None
        died = "before the series began" if death.episode == 0 else f"in {death}"
        now = f" This is {when}." if when else ""
        kind: Kind = "status" if _ALIVE.search(claim.text) else "timeline"
        return _flag(
            claim,
            f"{_who(m)} died {died}, so cannot be there alive.{now}",
            kind,
            section_for(chunks, DEATH_WORDS),
        )
    if when is None or not _on_screen(claim, m):
        return None
    if facts.first is not None and when < facts.first:
        return _flag(
            claim,
            f"{_who(m)} first appears in {facts.first}; this is {when}.",
            "timeline",
            chunks[0] if chunks else None,
        )
    if death is None and facts.last is not None and when > facts.last:
        return _flag(
            claim,
            f"{_who(m)}'s last episode is {facts.last}; this is {when}.",
            "timeline",
            chunks[0] if chunks else None,
        )
    return None


def _in_role(text: str, m: Mention, role: str) -> bool:
    """The role said of this person, now: next to the name (or the name is the role),
    not "the former harbour master" or "the harbour master who replaced Ada"."""
    low = text.lower()
    at = low.find(role)
    while at >= 0:
        end = at + len(role)
        near = at <= m.end + NEAR and end >= m.start - NEAR
        if near and not _NOT_ANY_MORE.search(text[:at]) and not _REPLACED.match(text[end:]):
            return True
        at = low.find(role, end)
    return False


def _is_role(m: Mention, role: str) -> bool:
    """The name used is the role itself ("the harbour master")."""
    said = m.said.lower().removeprefix("the ").strip()
    return said == role.lower()


def _said_of(claim: Claim, m: Mention) -> str:
    """The words after a name, up to the next other character's name."""
    after = [o.start for o in claim.who if o.start > m.start and o.facts.file != m.facts.file]
    return claim.text[m.end : min(after, default=len(claim.text))]


def status_contradicted(claim: Claim, m: Mention, chunks: Sequence[Chunk]) -> Flag | None:
    facts, when, text = m.facts, claim.when, claim.text
    status = (facts.status or "").lower()
    began = facts.since.get(status)
    if when is None or began is None or when < began:
        return None
    # A role that ends in an episode is still held during it ("resigns at the end of
    # episode 5"); and once it has ended, the role's name means someone else.
    if status in ROLE_ENDING and facts.role and when > began and not _is_role(m, facts.role):
        role = facts.role.lower()
        still = _STILL.match(text[m.end :]) and any(w in text.lower() for w in role.split())
        if _in_role(text, m, role) or still:
            return _flag(
                claim,
                f"{_who(m)} {status} as {facts.role} in {began}; this is {when}.",
                "status",
                section_for(chunks, (status[:5],)),
            )
    same_episode = when == began and not _AFTER.search(text)  # arrested during it
    if status in CUSTODY and not same_episode and _FREE.search(_said_of(claim, m)):
        return _flag(
            claim,
            f"{_who(m)} is {status} from {began} on; this is {when}.",
            "status",
            section_for(chunks, (status[:5],)),
        )
    return None


def age_contradicted(claim: Claim, m: Mention, chunks: Sequence[Chunk]) -> Flag | None:
    """'Nell, twelve' or 'the twelve-year-old Nell' against `age: 16`."""
    age = m.facts.age
    if age is None:
        return None
    said = number_at(claim.text, m.start, m.end)
    if said is None or said == age:
        return None
    words = (str(age), "year-old", "years old")
    return _flag(
        claim,
        f"The bible gives {_who(m)}'s age as {age}, not {said}.",
        "fact",
        section_for(chunks, words),
        severity="medium",
    )


CHECKS = (dead_or_absent, status_contradicted, age_contradicted)


def check_claim(claim: Claim, sections: Mapping[str, Sequence[Chunk]]) -> list[Flag]:
    """Every deterministic flag for one claim; one per character at most."""
    flags: list[Flag] = []
    seen: set[str] = set()
    for m in claim.who:
        if m.facts.file in seen:
            continue
        chunks = sections.get(m.facts.file, ())
        for check in CHECKS:
            flag = check(claim, m, chunks)
            if flag is not None:
                flags.append(flag)
                seen.add(m.facts.file)
                break
    return flags


Stated = tuple[Chunk, str, Measure]  # a section, its sentence, the count it states


def stated_measures(canon: Iterable[Chunk]) -> list[Stated]:
    """Every count and duration the bible states, read once per check."""
    return [
        (chunk, sentence, measure)
        for chunk in canon
        if any(ch.isdigit() for ch in chunk.text) or MEASURE_WORDS.search(chunk.text)
        for sentence in sentences(chunk.text)
        for measure in measures(sentence)
    ]


def numbers_contradicted(claim: Claim, stated: Sequence[Stated]) -> Flag | None:
    """A count or a duration the bible states otherwise: 'two hundred passengers' where
    the bible says ninety. Read from prose, so it asks for a writer's eye."""
    said = measures(claim.text)
    if not said:
        return None
    stems = content_stems(claim.text)
    for mine in said:
        same = [s for s in stated if s[2].what == mine.what]
        if mine.what == "minutes":  # durations of the same thing: a word in common
            same = [s for s in same if stems & content_stems(s[1])]
        else:  # counts of the same thing: its section shares a word ("two police cars" no)
            same = [s for s in same if stems & content_stems(f"{s[0].heading} {s[0].text}")]
        agreed = {m.amount for m in said if m.what == mine.what}  # "forty minutes, but…"
        if not same or any(s[2].amount in agreed for s in same):
            continue
        chunk, sentence, theirs = max(same, key=lambda s: len(stems & content_stems(s[1])))
        return _flag(
            claim,
            f"The bible says {theirs.amount} {theirs.what} (“{sentence.strip()}”), "
            f"not {mine.amount}.",
            "fact",
            chunk,
            certain=False,
            severity="medium",
        )
    return None
