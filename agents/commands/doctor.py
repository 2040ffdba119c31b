"""`doctor [TEXT]`: proposed corrections to a scene, never a silent rewrite.

Every finding is made by code, against the bible; the model is not used (so nothing is
invented and a long scene costs no model time). It finds:

- names and aliases the bible spells differently: a capitalised word that is not an
  English word (wordfreq: at the start of a sentence, where any word is capitalised,
  even a rare word is skipped; elsewhere a word under about Zipf 2 may be a name) and is
  within a small Damerau-Levenshtein distance of a character's or a place's name or alias
  (1 for names of at most 5 letters, 2 for longer; same first letter; words under 4
  letters only match exactly; a name's plural or possessive is not a misspelling);
- cues: a cue near a bible character's name that is not it (an unknown cue near no name
  is a new or minor character: no proposal), one character speaking under two cues, and
  action lines spelling a new character's cue differently;
- scene headings not in ``INT./EXT./EST. PLACE - TIME`` form (' - ', '–' or '—' between
  the parts), and places the bible spells differently;
- the deterministic continuity checks (``quick_flags``), per paragraph, so each has a line.

The text is the writer's (pasted) or the thread's last ``scene`` draft.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field
from wordfreq import zipf_frequency

from agents import render
from agents.canon import citation
from agents.commands.registry import register
from agents.commands.scene import last_scene_text
from agents.commands.spec import Call, CommandSpec, Param
from agents.continuity.run import quick_flags_each
from agents.desk import cue_for
from agents.errors import BadRequest
from agents.fountain import _READ_TIMES, parse_heading
from agents.messages import Reply
from agents.schemas import Citation
from memory.lexical import Entity, normalise_name

MAX_LINES = 300  # a long scene or a short act; more is sent in parts
# wordfreq's Zipf scale: 'Quilt' 3.3, 'Calmer' 3.1, 'Parka' 2.8, 'Marne' 2.6, 'Maren' 2.4;
# typos score 0 ('Delfine', 'Quentn') or little ('Marren' 1.5, a rare surname).
CUE_ZIPF = 3.5  # a cue names a speaker: a rarer word there ('MARNE') is taken as a name
WORD_ZIPF = 2.0  # a capitalised word mid-sentence or in a heading
START_ZIPF = 1.6  # a sentence's first word: anything that is an English word at all
MIN_LETTERS = 4  # shorter words ('Jan', 'Del') match a name only exactly
QUOTE_CHARS = 70
NAME_TYPES = ("character", "location")

Kind = Literal["name", "cue", "heading", "place", "continuity"]


class Proposal(BaseModel):
    line_number: int = Field(ge=1)
    line: str  # the line as the writer has it
    issue: str
    suggestion: str
    kind: Kind
    citation: Citation | None = None


class DoctorReport(BaseModel):
    source: str  # what was checked, in the writer's words
    lines: int
    checked: list[str]
    proposals: list[Proposal] = Field(default_factory=list)


CHECKED = [
    "names and aliases against the bible",
    "cues",
    "scene headings and places",
    "continuity (the deterministic checks)",
]


# ---- edit distance ------------------------------------------------------------------------
def distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment): insertions, deletions,
    substitutions and swaps of two neighbouring letters each cost 1."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def allowed(name: str) -> int:
    return 1 if len(name) <= 5 else 2


@lru_cache(maxsize=4096)
def zipf(word: str) -> float:
    return float(zipf_frequency(word.lower(), "en"))


def common_word(word: str, floor: float = CUE_ZIPF) -> bool:
    return zipf(word) >= floor


def sentence_start(line: str, at: int) -> bool:
    """Does the word at ``at`` start a sentence (so its capital says nothing)?"""
    before = line[:at].rstrip(" \t\"'“”‘’([*_—–-")
    return not before or before[-1] in ".!?…:;"


def inflected(low: str, words: set[str]) -> bool:
    """Is ``low`` a plural or possessive of one of ``words`` ('kesslers', 'quays')?"""
    return any(low.endswith(end) and low[: -len(end)] in words for end in ("s", "es"))


# ---- the text as Fountain lines -----------------------------------------------------------
_WORD = re.compile(r"(?<![\w'’])[A-Z][A-Za-z'’-]*")
_CUE = re.compile(
    r"^\s*(?:@(?P<forced>[^(^]+)|(?P<cue>[A-Z][A-Z0-9 .'’-]*?))\s*(?:\([^)]*\))?\s*\^?\s*$"
)
_BARE_HEADING = re.compile(r"^\s*(?P<place>[^a-z]+?)\s*(?:[-–—]+|,)\s*(?P<time>[A-Z][A-Z ']*)$")
_SEPARATOR = re.compile(r"\s+(?:-+|–|—)\s+")


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    role: Literal["blank", "heading", "cue", "paren", "dialogue", "action"]
    cue: str = ""  # for a cue: the name it gives; for dialogue: the cue above it


def read_lines(text: str) -> list[Line]:
    raw = text.splitlines()
    out: list[Line] = []
    cue = ""
    for i, line in enumerate(raw):
        stripped = line.strip()
        before_blank = i == 0 or not raw[i - 1].strip()
        after = raw[i + 1].strip() if i + 1 < len(raw) else ""
        if not stripped:
            out.append(Line(i + 1, line, "blank"))
            cue = ""
            continue
        if before_blank and (heading_like(stripped) or stripped.startswith(".")):
            out.append(Line(i + 1, line, "heading"))
            continue
        m = _CUE.match(stripped)
        if before_blank and after and m and not stripped.endswith(":") and _is_cue(m, stripped):
            cue = " ".join((m.group("forced") or m.group("cue")).split()).upper()
            out.append(Line(i + 1, line, "cue", cue))
            continue
        if cue:
            role: Literal["paren", "dialogue"] = "paren" if stripped.startswith("(") else "dialogue"
            out.append(Line(i + 1, line, role, cue))
            continue
        out.append(Line(i + 1, line, "action"))
    return out


def _is_cue(m: re.Match[str], line: str) -> bool:
    return bool(m.group("forced")) or (
        re.search(r"[A-Z]{2}", line) is not None and len(line.split()) <= 4
    )


def heading_like(line: str) -> bool:
    """A heading as written (any case, with or without INT./EXT.'s dots), or a bare
    'PLACE - TIME' line in capitals that was meant as one."""
    if parse_heading(line) is not None and not line.startswith("."):
        return True
    bare = _BARE_HEADING.match(line)
    return bool(bare and bare.group("time").split()[0] in _READ_TIMES)


# ---- headings ------------------------------------------------------------------------------
_IE = re.compile(r"^\s*(?P<ie>(?i:INT\.?\s*/\s*EXT\.?|I\s*/\s*E\.?|INT\.?|EXT\.?)|EST\.?)\s+")


def heading_fix(line: str) -> tuple[str, str] | None:
    """(issue, the heading as it should read) for a heading not in 'INT. PLACE - TIME' form;
    None when it is in that form, or is a forced heading ('.THE CAR DECK')."""
    line = line.strip()
    if line.startswith("."):
        return None
    problems: list[str] = []
    m = _IE.match(line)
    if m:
        letters = re.sub(r"[^A-Z/]", "", m.group("ie").upper())
        ie = {"INT/EXT": "INT./EXT.", "I/E": "INT./EXT.", "EXT": "EXT.", "EST": "EST."}.get(
            letters, "INT."
        )
        said = m.group("ie").strip()
        rest = line[m.end() :].strip()
        if said != ie:
            problems.append(f"'{said}' should read '{ie}'")
    else:
        ie, rest = "INT.", line
        problems.append("no INT. or EXT.")
    parts = [p.strip() for p in re.split(r"\s*(?:\s-+\s|–|—|,)\s*", rest) if p.strip()]
    if len(parts) == 1:
        words = parts[0].split()
        if len(words) > 1 and words[-1].upper() in _READ_TIMES:
            parts = [" ".join(words[:-1]), words[-1]]
            problems.append("no ' - ' before the time")
        else:
            problems.append("no time of day")
    elif "," in rest or re.search(r"\s--+\s|\S-\s|\s-\S", rest):  # '–' and '—' are fine
        problems.append("separators should be ' - '")
    if len(parts) > 1 and rest.upper() != rest:
        problems.append("the place and time go in capitals")
    elif len(parts) == 1 and rest.upper() != rest:
        problems.append("the place goes in capitals")
    if not problems:
        return None
    fixed = f"{ie} {' - '.join(p.upper() for p in parts)}"
    if "no time of day" in problems:
        fixed += " - DAY (or NIGHT…)"
    if "no INT. or EXT." in problems:
        fixed += " (or EXT., if outside)"
    return "scene heading: " + "; ".join(problems), fixed


# ---- the bible's names -----------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    word: str  # as the bible (or the cue) spells it
    entity: Entity | None  # None: a new character's cue


@dataclass
class Checker:
    targets: list[Target]
    exact: set[str]  # every word of every name, lower-cased
    places: list[tuple[str, Entity]]  # place names and aliases, compacted, for headings
    cited: dict[str, Citation]  # entity file -> its first section


def checker_for(call: Call) -> Checker:
    bible = call.services.bible
    entities = bible.entities(call.show, None, call.as_of)
    sections = bible.sections(call.show, call.as_of)
    exact: set[str] = set()
    targets: list[Target] = []
    places: list[tuple[str, Entity]] = []
    for e in entities:
        for name in e.names:
            exact.update(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'’]*", name))
    for e in entities:
        if e.type not in NAME_TYPES:
            continue
        seen: set[str] = set()
        for name in e.names:
            for w in re.findall(r"[A-Za-z][A-Za-z'’]*", name):
                if w[0].isupper() and len(w) >= MIN_LETTERS and w not in seen:
                    seen.add(w)
                    targets.append(Target(w, e))
            if e.type == "location":
                places.append((_compact(normalise_name(name)), e))
    cited = {f: citation(chunks[0]) for f, chunks in sections.items() if chunks}
    return Checker(targets, exact, places, cited)


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _spelled(word: str, like: str) -> str:
    """``like`` in the case the writer used: 'CALDER' for 'CALDERR', 'Calder' for 'Calderr'."""
    return like.upper() if word.isupper() and len(word) > 1 else like


def nearest_target(word: str, targets: Sequence[Target]) -> tuple[Target, ...]:
    best: list[Target] = []
    best_d = 99
    for t in targets:
        if t.word[0].lower() != word[0].lower() or abs(len(t.word) - len(word)) > 2:
            continue
        d = distance(word.lower(), t.word.lower())
        if d == 0 or d > allowed(t.word):
            continue
        if d < best_d:
            best, best_d = [t], d
        elif d == best_d and all(t.word.lower() != b.word.lower() for b in best):
            best.append(t)
    # one entity's names tied ('Marne': Maren, Mare): the one of the word's length, else longer
    chosen: dict[str | None, Target] = {}
    for t in sorted(best, key=lambda t: (len(t.word) != len(word), -len(t.word))):
        chosen.setdefault(t.entity.file if t.entity else t.word, t)
    return tuple(chosen.values())


def _quote(line: str) -> str:
    text = " ".join(line.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def _who(target: Target) -> str:
    e = target.entity
    if e is None:
        return "the cue"
    if target.word == e.name or e.type != "character":
        return e.name if target.word == e.name else f"{e.name}'s name"
    return f"{e.name}'s name"


def name_proposals(
    lines: Sequence[Line], check: Checker, cue_words: list[Target]
) -> list[Proposal]:
    out: list[Proposal] = []
    for line in lines:
        if line.role == "blank":
            continue
        seen: set[str] = set()
        pool = check.targets if line.role != "action" else [*check.targets, *cue_words]
        known = check.exact | {t.word.lower() for t in pool}
        for m in _WORD.finditer(line.text):
            word = re.sub(r"['’]s?$", "", m.group())
            low = word.lower()
            if len(word) < MIN_LETTERS or low in known or word in seen or inflected(low, known):
                continue
            if line.role == "cue":
                floor = CUE_ZIPF
            elif line.role != "heading" and sentence_start(line.text, m.start()):
                floor = START_ZIPF
            else:
                floor = WORD_ZIPF
            if common_word(word, floor):
                continue
            found = nearest_target(word, pool)
            if not found:
                continue
            seen.add(word)
            names = list(dict.fromkeys(_spelled(word, t.word) for t in found))
            suggestion = " or ".join(names)
            first = found[0]
            if first.entity is None:
                issue = f"'{word}' is spelled {suggestion} in this scene's cue"
                cite = None
            else:
                owners = ", ".join(dict.fromkeys(_who(t) for t in found))
                issue = f"'{word}' is not in the bible; {suggestion} is ({owners})"
                cite = check.cited.get(first.entity.file)
            kind: Kind = "name"
            if line.role == "cue":
                kind = "cue"
            elif line.role == "heading" and first.entity is not None:
                kind = "place" if first.entity.type == "location" else "name"
            out.append(
                Proposal(
                    line_number=line.number,
                    line=line.text.strip(),
                    issue=issue,
                    suggestion=suggestion,
                    kind=kind,
                    citation=cite,
                )
            )
    return out


# ---- cues ---------------------------------------------------------------------------------
def resolve_cue(call: Call, cue: str) -> Entity | None:
    """The bible character a cue names: by name or alias, else the one character whose
    name starts with it ('TOBIAS' for Tobias Vell)."""
    bible = call.services.bible
    hit = bible.lookup(call.show, cue, "character", call.as_of)
    if hit is not None and hit[0].type == "character":
        return hit[0]
    said = normalise_name(cue)
    starts = [
        e
        for e in bible.entities(call.show, "character", call.as_of)
        if any(normalise_name(n).split()[:1] == [said] for n in e.names if normalise_name(n))
    ]
    return starts[0] if len(starts) == 1 else None


def cue_proposals(
    call: Call, lines: Sequence[Line], check: Checker, flagged: set[int]
) -> tuple[list[Proposal], list[Target], dict[str, str]]:
    """Unknown cues, and characters under two cues; also the new characters' cues (for the
    action-line check) and, for each cue, the bible's name of who speaks."""
    out: list[Proposal] = []
    new: list[Target] = []
    speakers: dict[str, str] = {}
    used: dict[str, list[tuple[str, Line]]] = {}  # entity file -> (cue, first line)
    entities: dict[str, Entity] = {}
    for line in (ln for ln in lines if ln.role == "cue"):
        name = re.sub(r"\s*\b(?:V\.O\.|O\.S\.|O\.C\.|CONT'D|CONT’D)\b.*$", "", line.cue).strip()
        if not name:
            continue
        entity = resolve_cue(call, name)
        if entity is not None:
            speakers[line.cue] = entity.name
            entities[entity.file] = entity
            cues = used.setdefault(entity.file, [])
            if all(c != name for c, _ in cues):
                cues.append((name, line))
            continue
        speakers[line.cue] = name.title()
        if line.number in flagged:
            continue  # already proposed as a misspelled name
        if len(name) >= MIN_LETTERS and all(t.word.lower() != name.lower() for t in new):
            new.append(Target(name.title(), None))
        if all(common_word(w) for w in name.split()):
            continue  # a role ('WAITER', 'OLD MAN'), not a name
        near = _near_character(name, check)
        if near is None:
            continue  # a new or minor character ('FERRYMAN', 'QUENTIN'): not a misspelling
        out.append(
            Proposal(
                line_number=line.number,
                line=line.text.strip(),
                issue=f"the cue {name} names no character in the bible; {near.name} is near it",
                suggestion=f"{cue_for(near)} (or add {name.title()} to the bible)",
                kind="cue",
                citation=check.cited.get(near.file),
            )
        )
    for file, cues in used.items():
        if len(cues) < 2:
            continue
        entity = entities[file]
        preferred = cue_for(entity)
        if all(c != preferred for c, _ in cues):
            preferred = cues[0][0]
        names = " and ".join(c for c, _ in cues)
        for cue, line in cues:
            if cue == preferred:
                continue
            out.append(
                Proposal(
                    line_number=line.number,
                    line=line.text.strip(),
                    issue=f"{names} are both cues for {entity.name}; a script keeps one",
                    suggestion=preferred,
                    kind="cue",
                    citation=check.cited.get(file),
                )
            )
    return out, new, speakers


def _near_character(cue: str, check: Checker) -> Entity | None:
    """The bible character whose name or alias (whole, or one word of it) the cue
    misspells: within the name-length distance, same first letter; None when none is."""
    said = _compact(normalise_name(cue))
    best: tuple[int, Entity] | None = None
    for t in check.targets:
        e = t.entity
        if e is None or e.type != "character":
            continue
        for name in (t.word, *e.names):
            target = _compact(normalise_name(name))
            if len(target) < MIN_LETTERS or not said or said[0] != target[0]:
                continue
            d = distance(said, target)
            if 0 < d <= allowed(target) and (best is None or d < best[0]):
                best = (d, e)
    return best[1] if best else None


# ---- headings and places ------------------------------------------------------------------
def heading_proposals(
    lines: Sequence[Line], check: Checker, flagged: set[tuple[int, str]]
) -> list[Proposal]:
    out: list[Proposal] = []
    for line in (ln for ln in lines if ln.role == "heading"):
        fix = heading_fix(line.text)
        if fix is not None:
            out.append(
                Proposal(
                    line_number=line.number,
                    line=line.text.strip(),
                    issue=fix[0],
                    suggestion=fix[1],
                    kind="heading",
                )
            )
        heading = parse_heading(line.text)
        place = heading.place if heading else line.text.strip().lstrip(".")
        for part in _SEPARATOR.split(place):
            said = _compact(normalise_name(part))
            if len(said) < MIN_LETTERS:
                continue
            best: tuple[int, Entity] | None = None
            for name, entity in check.places:
                d = 0 if said == name else distance(said, name)
                if d == 0 and part.upper() == part and _spaced(part, entity):
                    best = None
                    break
                if d <= allowed(name) and (best is None or d < best[0]):
                    best = (d, entity)
            if best is None or (line.number, best[1].file) in flagged:
                continue
            entity = best[1]
            spelled = next(
                (
                    n
                    for n in entity.names
                    if _compact(normalise_name(n)) == _compact(normalise_name(part))
                ),
                None,
            ) or _closest_name(part, entity)
            if spelled.upper() == part.upper().strip():
                continue
            out.append(
                Proposal(
                    line_number=line.number,
                    line=line.text.strip(),
                    issue=f"the place '{part.strip()}' is spelled {spelled.upper()} in the bible",
                    suggestion=spelled.upper(),
                    kind="place",
                    citation=check.cited.get(entity.file),
                )
            )
    return out


def _spaced(part: str, entity: Entity) -> bool:
    """Is the place written exactly as one of the entity's names (spacing and all)?"""
    said = " ".join(normalise_name(part).split())
    return any(" ".join(normalise_name(n).split()) == said for n in entity.names)


def _closest_name(part: str, entity: Entity) -> str:
    said = _compact(normalise_name(part))
    return min(entity.names, key=lambda n: distance(said, _compact(normalise_name(n))))


# ---- continuity ---------------------------------------------------------------------------
def continuity_proposals(
    call: Call, lines: Sequence[Line], speakers: dict[str, str]
) -> list[Proposal]:
    """The deterministic checks on each paragraph (a line of dialogue as its speaker saying
    it, as the scene command checks a draft), so each flag has its line."""
    paragraphs: list[tuple[Line, str]] = []
    current: list[str] = []
    first: Line | None = None
    for line in lines:
        if line.role in ("blank", "heading", "cue"):
            if first is not None and current:
                paragraphs.append((first, " ".join(current)))
            current, first = [], None
            continue
        if line.role == "paren":
            continue
        text = line.text.strip()
        if line.role == "dialogue" and first is None:
            text = f"{speakers.get(line.cue, line.cue.title())} says: {text}"
        if first is None:
            first = line
        current.append(text)
    if first is not None and current:
        paragraphs.append((first, " ".join(current)))
    if not paragraphs:
        return []
    flags = quick_flags_each(call.services.bible, call.show, [t for _, t in paragraphs], call.as_of)
    out: list[Proposal] = []
    seen: set[str] = set()
    for (line, _), found in zip(paragraphs, flags, strict=True):
        for flag in found:
            if flag.explanation in seen:
                continue
            seen.add(flag.explanation)
            how = "certain" if flag.certain else "check this"
            out.append(
                Proposal(
                    line_number=line.number,
                    line=line.text.strip(),
                    issue=f"continuity ({flag.kind}, {how}): {flag.explanation}",
                    suggestion="rewrite the line to agree with the bible, or change the bible",
                    kind="continuity",
                    citation=flag.sources[0],
                )
            )
    return out


def doctor(call: Call, text: str, source: str) -> DoctorReport:
    lines = read_lines(text)
    check = checker_for(call)
    names = name_proposals(lines, check, [])
    flagged_lines = {p.line_number for p in names}
    cues, new, speakers = cue_proposals(call, lines, check, flagged_lines)
    if new:  # action lines spelling a new character's cue differently
        extra = name_proposals(
            [ln for ln in lines if ln.role == "action"], Checker(new, check.exact, [], {}), []
        )
        seen = {(p.line_number, p.line) for p in names}
        names += [p for p in extra if (p.line_number, p.line) not in seen]
    headings = heading_proposals(lines, check, set())
    heading_places = {(p.line_number, p.citation.file) for p in headings if p.citation}
    names = [
        p
        for p in names
        if not (
            p.kind == "place" and p.citation and (p.line_number, p.citation.file) in heading_places
        )
    ]
    flags = continuity_proposals(call, lines, speakers)
    proposals = sorted(
        [*names, *cues, *headings, *flags], key=lambda p: (p.line_number, p.kind != "heading")
    )
    return DoctorReport(
        source=source, lines=len(text.splitlines()), checked=CHECKED, proposals=proposals
    )


# ---- where the text comes from -----------------------------------------------------------
NO_SCENE = (
    "There is no scene in this thread to check. Paste the scene after {prefix}doctor, or "
    "draft one with {prefix}scene PREMISE first. Nothing was saved."
)


def text_of(call: Call) -> tuple[str, str]:
    said = call.arg("text") or ""
    if not said.strip():
        return last_scene_text(call, NO_SCENE)
    if not re.search(r"[A-Za-z]", said):
        raise BadRequest(
            "There are no words in that text to check. Paste the scene after "
            f"{call.event.prefix}doctor. Nothing was saved."
        )
    # no model reads it: an attached file is bounded by the upload limit, not the message's
    limit = call.services.config.max_upload_bytes
    n, size = len(said.splitlines()), len(said.encode("utf-8"))
    if n > MAX_LINES or size > limit:
        raise BadRequest(
            f"That text is {n} lines and {size:,} bytes; doctor reads at most {MAX_LINES} "
            f"lines and {limit:,} bytes (the upload limit) at a time. Send it a scene or two "
            "at a time. Nothing was saved."
        )
    return said.strip("\n"), "the pasted text"


# ---- the reply ------------------------------------------------------------------------------
def proposal_line(n: int, p: Proposal) -> str:
    cite = f"  {p.citation.label}" if p.citation else ""
    return (
        f"{n}. line {p.line_number}: “{_quote(p.line)}” — {p.issue}. Suggest: {p.suggestion}{cite}"
    )


def doctor_text(report: DoctorReport) -> str:
    head = f"{render.bold('Script doctor')} for: {report.source} ({report.lines} lines)"
    checked = "Checked: " + ", ".join(report.checked) + "."
    if not report.proposals:
        return "\n".join([head, "No corrections proposed.", checked])
    body = [proposal_line(i, p) for i, p in enumerate(report.proposals, 1)]
    n = len(report.proposals)
    tail = f"{n} proposal{'s' if n != 1 else ''}; nothing was changed: apply those you agree with."
    return "\n".join([head, *body, tail, checked])


async def run(call: Call) -> Reply:
    text, source = text_of(call)
    report = await asyncio.to_thread(doctor, call, text, source)
    cites = list(dict.fromkeys(p.citation.label for p in report.proposals if p.citation))
    citations = [
        next(p.citation for p in report.proposals if p.citation and p.citation.label == label)
        for label in cites
    ]
    return Reply(kind="doctor", text=doctor_text(report), result=report, citations=citations)


SPEC = register(
    CommandSpec(
        "doctor",
        "Propose corrections to a scene: names the bible spells differently, cues, scene "
        "headings, places and continuity. Checked by code against the bible (no model); "
        "nothing is rewritten.",
        (
            Param(
                "text",
                "The scene's text; empty for the thread's last drafted scene.",
                required=False,
                rest=True,
                reads_file=True,
            ),
        ),
        ("doctor", "doctor EXT. DROWNED QUAY - DAWN"),
        handler=run,
        result=DoctorReport,
        records=True,
    )
)
