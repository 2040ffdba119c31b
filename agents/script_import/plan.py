"""What importing a script will do to a bible folder, decided before anything is written:
the episode file, a stub for each new speaking character, ``appears_in`` for the bible's
characters who appear. Pure: the folder's entries and the script in, file texts out.

Everything written is made by code from the script's own words (no model), so the same
script always gives the same files and a re-import changes nothing. The scene's summary is
its first action sentences, quoted from the script rather than paraphrased, for the same
reason canon is never paraphrased elsewhere: a writer can check every word against the page.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from agents.canon_editor import bible_markdown
from agents.screenplay.model import Kind, Scene, Script, scenes, split_cue
from agents.script_import.folder import IMPORTED, Entry, with_appearance
from memory.bible import slugify
from memory.episodes import Episode

SUMMARY_WORDS = 60
FIRST_LINES = 3
CHARACTERS_DIR = "characters"
EPISODES_DIR = "episodes"

SPOKEN = (Kind.PARENTHETICAL, Kind.DIALOGUE, Kind.LYRIC)
Tick = Callable[[int, int], None]  # (scenes read, of how many)


class ImportRefused(ValueError):
    """The import cannot go ahead as asked; nothing is written."""


@dataclass(frozen=True)
class Change:
    rel: str
    action: str  # 'created', 'updated' or 'unchanged'
    text: str
    what: str  # how the report names it


@dataclass(frozen=True)
class Plan:
    episode: Episode
    title: str
    scenes: int
    changes: tuple[Change, ...]
    skipped: tuple[str, ...] = ()  # cues not matched nor stubbed, and why

    @property
    def writes(self) -> list[Change]:
        return [c for c in self.changes if c.action != "unchanged"]


@dataclass
class _Cast:
    """Cue names matched to bible characters, new characters and their line counts."""

    known: dict[str, Entry] = field(default_factory=dict)  # cue name -> entry
    new: dict[str, int] = field(default_factory=dict)  # cue name -> lines spoken
    skipped: dict[str, str] = field(default_factory=dict)


def _norm(name: str) -> str:
    return " ".join(re.sub(r"[^\w' ]+", " ", name.casefold().replace("\u2019", "'")).split())


def match_cue(name: str, characters: Sequence[Entry], episode: Episode) -> Entry | str | None:
    """The bible character a cue names (by name or alias, or one word of a name that no
    other character shares); a reason string where it must not be guessed; None if new."""
    key = _norm(name)
    for entry in characters:
        if key in {_norm(entry.name), *(_norm(a) for a in entry.aliases)}:
            return entry
    for entry in characters:
        for alias, reveal in entry.secret:
            if key == _norm(alias):
                if reveal is not None and episode < reveal:
                    return (
                        f"a name the bible keeps secret until {reveal.code}: left unmatched so "
                        f"{episode.code} does not reveal it"
                    )
                return entry
    words = [e for e in characters if key in _norm(e.name).split()]
    if len(words) == 1:
        return words[0]
    if len(words) > 1:
        names = " or ".join(e.name for e in words)
        return f"could be {names}: add the cue as an alias to the right one and import again"
    return None


def _cast(found: Sequence[Scene], characters: Sequence[Entry], episode: Episode) -> _Cast:
    cast = _Cast()
    for scene in found:
        for speech in scene.speeches():
            name = speech.name
            if name in cast.known or name in cast.skipped:
                continue
            if name not in cast.new:
                hit = match_cue(name, characters, episode)
                if isinstance(hit, Entry):
                    cast.known[name] = hit
                    continue
                if isinstance(hit, str):
                    cast.skipped[name] = hit
                    continue
            cast.new[name] = cast.new.get(name, 0) + max(1, len(speech.lines))
    return cast


def display_name(cue: str) -> str:
    """A cue as a name: 'INES' -> 'Ines', 'McKINNON' -> 'McKinnon', 'HARBOUR CLERK' ->
    'Harbour Clerk'; a word with lowercase letters keeps them."""

    def word(w: str) -> str:
        if w.isupper():
            return w.capitalize()
        head = re.match(r"^(.*[a-z])([A-Z].*)$", w)
        return head.group(1) + head.group(2).capitalize() if head else w

    return " ".join(word(w) for w in cue.split())


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?…])\s+", " ".join(text.split())) if s]


def action_summary(scene: Scene) -> str:
    """The scene's first action sentences, up to about SUMMARY_WORDS words."""
    out: list[str] = []
    words = 0
    for sentence in (s for para in scene.action() for s in _sentences(para)):
        if words and words + len(sentence.split()) > SUMMARY_WORDS:
            out.append("…")
            break
        out.append(sentence)
        words += len(sentence.split())
    return " ".join(out)


def _inline(text: str) -> str:
    """One line of Markdown that cannot open a heading, a front matter or a reveal tag."""
    return " ".join(text.split()).replace("{", "(").replace("}", ")")


PRE_LAP = "PRE-LAP"
VOICE_OVER = "V.O."


def prelaps_forward(found: Sequence[Scene]) -> list[Scene]:
    """A (PRE-LAP) speech at the end of a scene is heard over its end but said in the next
    scene: it is moved to the start of that one, so the cast lists and first lines are
    those of the scene it belongs to."""
    out = list(found)
    for i in range(len(out) - 1):
        paras = list(out[i].paras)
        cut = len(paras)
        while cut and paras[cut - 1].kind in (Kind.TRANSITION, Kind.PAGE_BREAK):
            cut -= 1
        start = cut
        while start and paras[start - 1].kind in SPOKEN:
            start -= 1
        if start and paras[start - 1].kind is Kind.CHARACTER:
            start -= 1
            if PRE_LAP in split_cue(paras[start].text)[1]:
                moved = tuple(paras[start:cut])
                out[i] = replace(out[i], paras=tuple(paras[:start] + paras[cut:]))
                out[i + 1] = replace(out[i + 1], paras=moved + out[i + 1].paras)
    return out


def _present(scene: Scene, cast: _Cast) -> list[str]:
    """Who speaks in the scene, by the bible's names; '(V.O.)' after one who is only heard
    in voice-over there (a recording, a narrator), so a dead character heard on a tape does
    not read as present."""
    names: list[str] = []
    voice_only: dict[str, bool] = {}
    for speech in scene.speeches():
        who = cast.known.get(speech.name)
        label = who.name if who else display_name(speech.name)
        if speech.name in cast.skipped:
            label = speech.name
        if label not in names:
            names.append(label)
        heard = VOICE_OVER in speech.extensions
        voice_only[label] = voice_only.get(label, True) and heard
    return [f"{n} ({VOICE_OVER})" if voice_only[n] else n for n in names]


def _mentions(name: str) -> re.Pattern[str]:
    """A proper name as a whole word, as written or in capitals ('Calder', 'CALDER'), not
    followed by a possessive: 'Toby's phone' is his phone, not him."""
    words = re.escape(name).replace(r"\ ", r"\s+")
    return re.compile(rf"(?<![\w'])(?:{words}|{words.upper()})(?![\w]|['’]s\b)")


Named = tuple[str, tuple[str, ...]]  # a character's name and its proper-noun aliases


def named_in_action(scene: Scene, characters: Sequence[Named]) -> list[str]:
    """Characters the scene's action names by name or a proper-noun alias: in the scene
    though silent, or only spoken of; the section says which it is by listing them apart
    from those who speak, and an import adds no appearance for them."""
    action = "\n".join(scene.action())
    found: list[str] = []
    for name, aliases in characters:
        names = [name, *(a for a in aliases if a[:1].isupper())]
        if any(_mentions(n).search(action) for n in names):
            found.append(name)
    return found


def known_names(characters: Sequence[Entry], cast: _Cast) -> list[Named]:
    """The bible's characters and those this import adds, so a second import of the same
    script (when the added ones are in the bible) names the same characters as the first."""
    added = [(display_name(cue), (cue,)) for cue in cast.new]
    return [(e.name, e.aliases) for e in characters] + added


def scene_section(number: int, scene: Scene, cast: _Cast, characters: Sequence[Named]) -> str:
    heading = _inline(scene.heading) or "(no heading)"
    # Sections are numbered in order, so each heading is unique and citable; the script's
    # own scene number (locked pages skip and letter them: 7 cut, 10A added) is kept too.
    lines = [f"## Scene {number}: {heading}", ""]
    if scene.number and scene.number != str(number):
        lines += [f"Scene number in the script: {_inline(scene.number)}", ""]
    summary = action_summary(scene)
    if summary:
        lines += [f"Action: {_inline(summary)}", ""]
    present = _present(scene, cast)
    lines.append(f"Characters: {', '.join(present) if present else 'none speak'}")
    spoken = {
        e.name if (e := cast.known.get(s.name)) else display_name(s.name) for s in scene.speeches()
    }
    named = [n for n in named_in_action(scene, characters) if n not in spoken]
    if named:
        lines += ["", f"Named in the action: {', '.join(named)}"]
    said = [(s, line) for s in scene.speeches() for line in s.lines][:FIRST_LINES]
    if said:
        lines += ["", "First lines:", ""]
        lines += [f"- {s.name}: “{_inline(line)}”" for s, line in said]
    return "\n".join(lines)


def episode_text(
    episode: Episode,
    title: str,
    found: Sequence[Scene],
    cast: _Cast,
    characters: Sequence[Named],
    origin: str,
    tick: Tick = lambda done, total: None,
) -> str:
    front = {
        "type": "episode",
        "name": title,
        "aliases": [episode.code, f"{episode.season}{episode.episode:02d}"],
        "first_episode": episode.code,
        "last_episode": episode.code,
        "source": IMPORTED,
        "imported_from": origin,
        "scenes": len(found),
    }
    sections = []
    for i, scene in enumerate(found, start=1):
        sections.append(scene_section(i, scene, cast, characters))
        tick(i, len(found))
    body = "\n\n".join(sections)
    return bible_markdown(front, f"{episode.code} — {title}", body)


def stub_text(name: str, cue: str, episode: Episode, title: str, lines: int) -> str:
    front = {
        "type": "character",
        "name": name,
        "aliases": [cue] if cue != name else [],
        "status": "alive",
        "first_episode": episode.code,
        "appears_in": [episode.code],
        "source": IMPORTED,
        "lines": lines,
    }
    body = (
        "## Imported\n\n"
        f"First speaks in {episode.code} “{_inline(title)}” ({_count(lines)}), from the script. "
        "The room has not written this character up yet."
    )
    return bible_markdown(front, name, body)


def _ascii(text: str) -> str:
    """'Renée' -> 'Renee', so a file name keeps the word whole ('renee.md', not 'ren-e.md')."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _count(lines: int) -> str:
    return f"{lines} line" if lines == 1 else f"{lines} lines"


def _free(rel: str, taken: set[str]) -> str:
    stem, n = rel.removesuffix(".md"), 2
    while rel in taken:
        rel, n = f"{stem}-{n}.md", n + 1
    return rel


def plan_import(
    script: Script,
    entries: Sequence[Entry],
    episode: Episode,
    title: str,
    origin: str,
    tick: Tick = lambda done, total: None,
) -> Plan:
    """The changes importing ``script`` as ``episode`` makes to a folder of ``entries``."""
    found = prelaps_forward([s for s in scenes(script) if s.heading])
    if not found:
        raise ImportRefused(
            "it has no scene headings (INT. PLACE - DAY), and the bible files an episode "
            "scene by scene"
        )
    characters = [e for e in entries if e.type == "character"]
    by_rel = {e.rel: e for e in entries}
    same = [e for e in entries if e.type == "episode" and e.episode == episode]
    hand = [e for e in same if e.source != IMPORTED]
    if hand:
        raise ImportRefused(
            f"{episode.code} already has an episode file written by hand ({hand[0].rel}), "
            "and an import never overwrites one. Import it as another episode, or move that "
            "file out of the bible folder first"
        )
    cast = _cast(found, characters, episode)
    taken = set(by_rel)
    rel = same[0].rel if same else _free(f"{EPISODES_DIR}/{_episode_file(episode, title)}", taken)
    everyone = known_names(characters, cast)
    text = episode_text(episode, title, found, cast, everyone, origin, tick)
    changes = [_change(rel, text, by_rel, f"episode {episode.code} “{title}”")]
    taken.add(rel)
    for cue, lines in cast.new.items():
        name = display_name(cue)
        stub = _free(f"{CHARACTERS_DIR}/{slugify(_ascii(name)) or 'character'}.md", taken)
        taken.add(stub)
        made = stub_text(name, cue, episode, title, lines)
        changes.append(Change(stub, "created", made, f"new character {name} ({_count(lines)})"))
    for entry in {e.rel: e for e in cast.known.values()}.values():
        updated = with_appearance(entry.text, episode.code)
        action = "unchanged" if updated is None else "updated"
        what = f"{entry.name}: appears_in {episode.code}"
        changes.append(Change(entry.rel, action, updated or entry.text, what))
    skipped = tuple(f"{cue}: {why}" for cue, why in cast.skipped.items())
    return Plan(episode, title, len(found), tuple(changes), skipped)


def _episode_file(episode: Episode, title: str) -> str:
    return f"{episode.code.lower()}-{slugify(_ascii(title), words=6) or 'episode'}.md"


def _change(rel: str, text: str, by_rel: dict[str, Entry], what: str) -> Change:
    old = by_rel.get(rel)
    if old is None:
        return Change(rel, "created", text, what)
    return Change(rel, "unchanged" if old.text == text else "updated", text, what)
