"""The sample episode script (examples/scripts), in Fountain and in Final Draft, against
golden files: what the readers make of every form that breaks naive parsers, the episode
file an import writes, and the round trip (import, export, re-import).

Set WR_UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change; read the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from agents.screenplay.fdx_out import write_fdx
from agents.screenplay.fountain_out import write_fountain
from agents.screenplay.model import Kind, Para, Script, page_count, scenes
from agents.screenplay.read import read_script
from agents.script_import.apply import ScriptImporter
from bot.compose import App
from tests.conftest import SAMPLE, SHOW

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "examples/scripts"
FOUNTAIN = SCRIPTS / "s2e01_the_lamp_room.fountain"
FDX = SCRIPTS / "s2e01_the_lamp_room.fdx"
GOLDEN = Path(__file__).parent / "golden"
LIMIT = 5 * 1024 * 1024
EPISODE_FILE = "episodes/s2e01-the-lamp-room.md"


def dump(script: Script) -> str:
    """One line per paragraph: kind, flags, text (line breaks shown as ⏎)."""
    out = []
    for p in script.paras:
        flags = "".join(
            f for f, on in (("^", p.dual), ("><", p.centered), (f"#{p.number}", p.number)) if on
        )
        level = f"{p.level}" if p.kind is Kind.SECTION else ""
        out.append(f"{p.kind.value}{level}{flags and ' ' + flags}: {p.text.replace(chr(10), '⏎')}")
    return "\n".join(out) + "\n"


def golden(name: str, actual: str) -> str:
    path = GOLDEN / name
    if os.environ.get("WR_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    return path.read_text(encoding="utf-8")


def read(path: Path) -> Script:
    return read_script(path.name, path.read_bytes(), LIMIT).script


def speeches_of(script: Script) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    """(scene heading, cue name, its extensions, its lines) for every speech."""
    return [
        (scene.heading, s.name, s.extensions, tuple(s.lines))
        for scene in scenes(script)
        for s in scene.speeches()
    ]


def unstamped(text: str) -> str:
    """An imported file without its ``import_hash`` line (which changes with every byte)."""
    return re.sub(r"\nimport_hash: \w+\n", "\n", text)


# ---- parsing: both formats to the same golden paragraphs --------------------------------------
@pytest.mark.parametrize("path", [FOUNTAIN, FDX], ids=["fountain", "fdx"])
def test_the_sample_script_parses_to_the_golden_paragraphs(path: Path) -> None:
    script = read(path)
    assert dump(script) == golden("s2e01_paragraphs.txt", dump(read(FOUNTAIN)))
    assert script.title == "The Lamp Room"


def test_the_sample_has_every_form_and_nothing_a_reader_must_drop() -> None:
    script = read(FOUNTAIN)
    kinds = [p.kind for p in script.paras]
    cues = {speech.name for sc in scenes(script) for speech in sc.speeches()}
    headings = [p.text for p in script.paras if p.kind is Kind.HEADING]
    assert len(headings) == 12 and page_count(script) >= 10
    assert "UNDER THE PIER - GULLSTONE LANDING - NIGHT" in headings  # forced with '.'
    assert [p.number for p in script.paras if p.number] == ["3", "4", "5", "6", "8", "10A"]
    assert sum(p.dual for p in script.paras) == 4  # four dual-dialogue pairs
    assert sum(p.centered for p in script.paras) == 6
    assert kinds.count(Kind.PAGE_BREAK) == 4 and kinds.count(Kind.LYRIC) >= 8
    transitions = {p.text for p in script.paras if p.kind is Kind.TRANSITION}
    assert transitions == {"SMASH CUT TO:", "CUT TO:", "FADE OUT."}
    assert {"MAREN", "JUN", "NELL", "ADA", "CALDER", "DELPHINE", "DEL", "TOBY"} <= cues
    assert {"INES", "McKINNON", "MRS. LEFÈVRE"} <= cues
    extensions = {e for *_, ext, _ in speeches_of(script) for e in ext}
    assert {"V.O.", "O.S.", "CONT'D", "PRE-LAP"} <= extensions
    text = dump(script)
    # the boneyard's cut scene, its speaker, notes and emphasis marks are gone
    for absent in ("QUILL", "VISITING", "[[", "]]", "/*", "*/", "**", "~", "@Mc"):
        assert absent not in text, absent


# ---- the round trip: import, export, re-import --------------------------------------------------
@pytest.mark.parametrize("fmt", ["fountain", "fdx"])
def test_round_trip_keeps_scenes_cues_and_lines(fmt: str, tmp_path: Path) -> None:
    original = read(FOUNTAIN)
    out = tmp_path / f"again.{fmt}"
    if fmt == "fountain":
        out.write_text(write_fountain(original), encoding="utf-8")
    else:
        out.write_bytes(write_fdx(original))
    again = read(out)
    assert [s.heading for s in scenes(again)] == [s.heading for s in scenes(original)]
    assert speeches_of(again) == speeches_of(original)
    assert dump(again) == dump(original)  # and everything else: every paragraph kept


def test_underscores_and_stars_survive_the_fountain_round_trip(tmp_path: Path) -> None:
    words = "file_name_v2.txt, _Never_ again, 2*3*4 and snake_case"
    original = Script(
        paras=(
            Para(Kind.HEADING, "INT. GALLEY - DAY"),
            Para(Kind.ACTION, words),
            Para(Kind.CHARACTER, "MAREN"),
            Para(Kind.DIALOGUE, words),
        )
    )
    assert dump(read_script("x.fountain", write_fountain(original).encode(), LIMIT).script) == (
        dump(original)
    )


# ---- the bible import of the sample --------------------------------------------------------
def test_import_of_the_sample_writes_the_golden_episode_file(
    import_room: App, tmp_path: Path
) -> None:
    folder = import_room.bible.source_dir(SHOW)
    assert folder is not None
    importer = ScriptImporter(import_room.bible, [SAMPLE])
    done = importer.run(SHOW, FOUNTAIN.name, FOUNTAIN.read_bytes(), LIMIT)
    assert (done.plan.episode.code, done.plan.scenes) == ("S2E01", 12)
    episode = (folder / EPISODE_FILE).read_text(encoding="utf-8")
    assert episode == golden("s2e01-the-lamp-room.md", episode)
    created = sorted(c.rel for c in done.plan.changes if c.action == "created")
    assert created == [
        "characters/ines.md",
        "characters/mckinnon.md",
        "characters/mrs-lefevre.md",
        EPISODE_FILE,
    ]
    assert not (folder / "characters/quill.md").exists()  # the boneyard's speaker
    toby = (folder / "characters/toby_vell.md").read_text(encoding="utf-8")
    assert "appears_in: [S2E01]" in toby and "status: dead" in toby
    assert "Tobias Vell (V.O.)" in episode  # heard on a recording, not alive again
    # Final Draft's copy of the same episode changes nothing but where it came from.
    files = {p: p.read_bytes() for p in sorted(folder.rglob("*.md"))}
    again = importer.run(SHOW, FDX.name, FDX.read_bytes(), LIMIT)
    assert [c.rel for c in again.plan.writes] == [EPISODE_FILE]
    after = (folder / EPISODE_FILE).read_text(encoding="utf-8")
    assert unstamped(after) == unstamped(episode).replace(
        f"imported_from: {FOUNTAIN.name}", f"imported_from: {FDX.name}"
    )
    assert {p: p.read_bytes() for p in files if p != folder / EPISODE_FILE} == {
        p: b for p, b in files.items() if p != folder / EPISODE_FILE
    }
    # and our own export of it, imported again, is the same episode
    exported = tmp_path / FOUNTAIN.name
    exported.write_text(write_fountain(read(FDX)), encoding="utf-8")
    third = importer.run(SHOW, exported.name, exported.read_bytes(), LIMIT)
    assert (folder / EPISODE_FILE).read_text(encoding="utf-8") == episode
    assert {c.action for c in third.plan.changes if c.rel != EPISODE_FILE} == {"unchanged"}
