"""The episode file an import writes: front matter, then one section per scene with its
heading, its first action sentences, who speaks, who the action names, and its first lines.

Made by code from the script's own words, not by the model: the same script always gives
the same file (a re-import changes nothing), and a writer can check every word against the
page, as canon is checked everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from agents.canon_editor import bible_markdown
from agents.screenplay.model import SPEECH_PARTS, Kind, Scene, split_cue
from agents.script_import.cast import Cast
from agents.script_import.folder import IMPORTED
from memory.episodes import Episode

SUMMARY_WORDS = 60
FIRST_LINES = 3
PRE_LAP = "PRE-LAP"
VOICE_OVER = "V.O."
Tick = Callable[[int, int], None]  # (scenes written, of how many)
Named = tuple[str, tuple[str, ...]]  # a character's name and its proper-noun aliases


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


def inline(text: str) -> str:
    """One line of Markdown that cannot open a heading, a front matter or a reveal tag."""
    return " ".join(text.split()).replace("{", "(").replace("}", ")")


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
        while start and paras[start - 1].kind in SPEECH_PARTS:
            start -= 1
        if start and paras[start - 1].kind is Kind.CHARACTER:
            start -= 1
            if PRE_LAP in split_cue(paras[start].text)[1]:
                moved = tuple(paras[start:cut])
                out[i] = replace(out[i], paras=tuple(paras[:start] + paras[cut:]))
                out[i + 1] = replace(out[i + 1], paras=moved + out[i + 1].paras)
    return out


def _present(scene: Scene, cast: Cast) -> list[str]:
    """Who speaks in the scene, by the bible's names; '(V.O.)' after one who is only heard
    in voice-over there (a recording, a narrator), so a dead character heard on a tape does
    not read as present."""
    names: list[str] = []
    voice_only: dict[str, bool] = {}
    for speech in scene.speeches():
        label = cast.name_of(speech.name)
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


def named_in_action(scene: Scene, characters: Sequence[Named]) -> list[str]:
    """Characters the scene's action names by name or a proper-noun alias, in name order:
    in the scene though silent, or only spoken of. The section lists them apart from those
    who speak, and an import adds no appearance for them."""
    action = "\n".join(scene.action())
    found = {
        name
        for name, aliases in characters
        if any(_mentions(n).search(action) for n in (name, *aliases) if n[:1].isupper())
    }
    return sorted(found)


def known_names(characters: Sequence[Named], cast: Cast) -> list[Named]:
    """The bible's characters and those this import adds, so a second import of the same
    script (when the added ones are in the bible) names the same characters as the first."""
    added = [(new.name, (new.cue,)) for new in cast.new.values()]
    return [*characters, *added]


def scene_section(number: int, scene: Scene, cast: Cast, characters: Sequence[Named]) -> str:
    heading = inline(scene.heading) or "(no heading)"
    # Sections are numbered in order, so each heading is unique and citable; the script's
    # own scene number (locked pages skip and letter them: 7 cut, 10A added) is kept too.
    lines = [f"## Scene {number}: {heading}", ""]
    if scene.number and scene.number != str(number):
        lines += [f"Scene number in the script: {inline(scene.number)}", ""]
    summary = action_summary(scene)
    if summary:
        lines += [f"Action: {inline(summary)}", ""]
    present = _present(scene, cast)
    lines.append(f"Characters: {', '.join(present) if present else 'none speak'}")
    spoken = {cast.name_of(s.name) for s in scene.speeches()}
    named = [n for n in named_in_action(scene, characters) if n not in spoken]
    if named:
        lines += ["", f"Named in the action: {', '.join(named)}"]
    said = [(s, line) for s in scene.speeches() for line in s.lines][:FIRST_LINES]
    if said:
        lines += ["", "First lines:", ""]
        lines += [f"- {s.name}: “{inline(line)}”" for s, line in said]
    return "\n".join(lines)


def episode_text(
    episode: Episode,
    title: str,
    found: Sequence[Scene],
    cast: Cast,
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
