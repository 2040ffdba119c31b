"""The edges of importing a script into a bible: files it must never overwrite, secrets it
must never reveal, a re-import that must change nothing, and the bible's own files in other
encodings and line endings. Real Chroma and SQLite; no model (an import uses none).
"""

from __future__ import annotations

import codecs

import pytest

from agents.screenplay.model import Script
from agents.script_import.apply import ScriptImporter
from agents.script_import.folder import with_appearance
from agents.script_import.identify import episode_of, title_of
from bot.compose import App
from memory.episodes import Episode
from tests.conftest import SAMPLE, SCRIPT_LIMIT, SHOW, bible_folder

LIMIT = SCRIPT_LIMIT


def run_import(app: App, script: str, name: str = "x.fountain", episode: str = "S2E03"):  # type: ignore[no-untyped-def]
    return ScriptImporter(app.bible, [SAMPLE]).run(SHOW, name, script.encode(), LIMIT, episode)


def scene(*speakers: str, action: str = "Fog.") -> str:
    lines = ["INT. GALLEY - NIGHT", "", action, ""]
    for cue in speakers:
        lines += [cue, "Aye.", ""]
    return "\n".join(lines)


def test_a_stub_never_lands_on_a_file_that_is_there(import_room: App) -> None:
    """A note where a stub would go is kept and the stub takes the next name; a broken file
    there is most likely that character's own, so the cue is skipped, pointing at it."""
    folder = bible_folder(import_room)
    broken = "---\ntype: character\nname: Wren\naliases: [Wren, the kid\n---\nTwo pages of notes\n"
    note = "---\ntype: note\nname: Ines\n---\n# Ines\nA note about casting.\n"
    (folder / "characters/wren.md").write_text(broken)
    (folder / "characters/Ines.md").write_text(note)  # another case of the stub's name
    done = run_import(import_room, scene("WREN", "INES"))
    created = sorted(c.rel for c in done.plan.changes if c.action == "created")
    assert created == ["characters/ines-2.md", "episodes/s2e03-x.md"]
    assert done.plan.skipped == (
        "WREN: characters/wren.md is there but does not load; fix it (the ingest report says "
        "how) and import again, rather than a second file for the same character",
    )
    assert (folder / "characters/wren.md").read_text() == broken
    assert (folder / "characters/Ines.md").read_text() == note


def test_reveals_are_read_as_the_bible_reads_them(import_room: App) -> None:
    """A secret alias in a season-2 file, an unreadable reveal and a whole file revealed
    later: none of them names a speaker in an earlier episode's file."""
    folder = bible_folder(import_room)
    (folder / "characters/wren.md").write_text(
        "---\ntype: character\nname: Wren Hollis\nseason: 2\n"
        'aliases: [Wren, "the Keeper {reveal: 5}", "the Watcher {reveal: S2E5x}"]\n---\n'
        "# Wren Hollis\n\n## Who\nA lighthouse keeper.\n"
    )
    (folder / "characters/ansel.md").write_text(
        "---\ntype: character\nname: Ansel Kessler\naliases: [the Stranger]\nreveal: S2E04\n"
        "---\n# Ansel Kessler\n\n## Who\nNell's father.\n"
    )
    import_room.bible.ingest(folder, SHOW)
    done = run_import(import_room, scene("THE KEEPER", "THE WATCHER", "THE STRANGER", "ANSEL"))
    episode = (folder / "episodes/s2e03-x.md").read_text()
    for secret in ("Wren Hollis", "Ansel Kessler"):
        assert secret not in episode, secret
    hidden = "the bible keeps secret at S2E03: left unmatched so this episode does not reveal"
    reasons = "\n".join(done.plan.skipped)
    assert f"THE KEEPER: a name {hidden}" in reasons
    assert f"THE WATCHER: a name {hidden}" in reasons  # its reveal code cannot be read
    assert f"THE STRANGER: a character {hidden}" in reasons
    # one word of a secret character's name is no match (nor a reason that names him)
    assert "ANSEL" not in reasons and "S2E04" not in reasons and "S2E05" not in reasons
    assert not (folder / "characters/the-keeper.md").exists()
    assert "appears_in" not in (folder / "characters/wren.md").read_text()
    # after the reveal, the same names are the characters
    later = run_import(import_room, scene("THE KEEPER", "THE STRANGER"), episode="S2E05")
    assert later.plan.skipped == ()
    assert "Characters: Wren Hollis, Ansel Kessler" in (folder / "episodes/s2e05-x.md").read_text()


def test_a_new_character_is_hidden_from_earlier_rooms(import_room: App) -> None:
    folder = bible_folder(import_room)
    run_import(import_room, scene("WREN"), episode="S2E05")
    stub = (folder / "characters/wren.md").read_text()
    assert "reveal: S2E05" in stub and "first_episode: S2E05" in stub
    early = import_room.bible.search(SHOW, "Wren", k=10, as_of=Episode(1, 3))
    assert not any(h.chunk.file == "characters/wren.md" for h in early)
    late = import_room.bible.search(SHOW, "Wren", k=10, as_of=Episode(2, 5))
    assert any(h.chunk.file == "characters/wren.md" for h in late)
    # an earlier episode imported later moves the stub's first episode (and reveal) back
    run_import(import_room, scene("WREN"), episode="S2E03")
    stub = (folder / "characters/wren.md").read_text()
    assert "first_episode: S2E03" in stub and "reveal: S2E03" in stub
    assert "appears_in: [S2E05, S2E03]" in stub  # added where the writer's list ends


def test_reimport_changes_nothing_with_one_word_cues_and_named_characters(import_room: App) -> None:
    script = (
        scene("OKONKWO", "JOE OKONKWO", "JOE", action="Ines and Jun watch. Calder waits.")
        + "\n"
        + scene("INES", "@McKINNON", "MCKINNON", "INSPECTOR", "GUARD", "GUARD #2")
    )
    first = run_import(import_room, script)
    folder = bible_folder(import_room)
    files = {p: p.read_bytes() for p in sorted(folder.rglob("*.md"))}
    again = run_import(import_room, script)
    assert again.plan.writes == []
    assert {p: p.read_bytes() for p in sorted(folder.rglob("*.md"))} == files
    assert first.plan.skipped == again.plan.skipped == ()
    stubs = sorted(c.rel for c in first.plan.changes if c.action == "created")
    # OKONKWO is Ada (one word of one hand-written name), both times; new cues never merge
    # (JOE is not JOE OKONKWO, GUARD is not GUARD #2); one McKinnon for two spellings;
    # INSPECTOR is Calder ('the inspector')
    assert stubs == [
        "characters/guard-2.md",
        "characters/guard.md",
        "characters/ines.md",
        "characters/joe-okonkwo.md",
        "characters/joe.md",
        "characters/mckinnon.md",
        "episodes/s2e03-x.md",
    ]
    episode = (folder / "episodes/s2e03-x.md").read_text()
    assert "Characters: Ada Okonkwo, Joe Okonkwo, Joe" in episode
    assert "Characters: Ines, McKinnon, Rhys Calder, Guard, Guard #2" in episode
    assert "Named in the action: Ines, Jun Park, Rhys Calder" in episode


def test_non_latin_cues_are_characters_and_accents_do_not_split_one(import_room: App) -> None:
    script = scene("ΕΛΕΝΗ", "МАРИНА", "ZOË", "ZOE", "MRS. LEFÈVRE", "LEFÈVRE")
    done = run_import(import_room, script)
    new = sorted(c.what for c in done.plan.changes if c.action == "created")
    assert new == [
        "episode S2E03 “X”",
        "new character Lefèvre (1 line)",
        "new character Mrs. Lefèvre (1 line)",
        "new character Zoë (2 lines)",
        "new character Ελενη (1 line)",
        "new character Марина (1 line)",
    ]
    assert done.plan.skipped == ()


def test_a_secret_character_is_not_named_in_the_action_either(import_room: App) -> None:
    folder = bible_folder(import_room)
    (folder / "characters/ansel.md").write_text(
        "---\ntype: character\nname: Ansel Kessler\naliases: [Mr Grey]\nreveal: S2E04\n"
        "---\n# Ansel Kessler\n\n## Who\nNell's father.\n"
    )
    import_room.bible.ingest(folder, SHOW)
    run_import(import_room, scene("JUN", action="Mr Grey watches from the quay."))
    episode = (folder / "episodes/s2e03-x.md").read_text()
    assert "Ansel" not in episode and "Named in the action" not in episode


def test_a_writers_reveal_on_a_stub_is_kept(import_room: App) -> None:
    folder = bible_folder(import_room)
    run_import(import_room, scene("WREN"), episode="S2E05")
    stub = folder / "characters/wren.md"
    stub.write_text(stub.read_text().replace("reveal: S2E05", "reveal: S2E08"))
    import_room.bible.ingest(folder, SHOW)
    done = run_import(import_room, scene("WREN"), episode="S2E06")
    assert "reveal: S2E08" in stub.read_text() and "first_episode: S2E05" in stub.read_text()
    assert "Wren" not in (folder / "episodes/s2e06-x.md").read_text()  # still a secret there
    assert any("WREN: a character the bible keeps secret" in s for s in done.plan.skipped)


def test_an_imported_episode_a_writer_edited_is_never_replaced(import_room: App) -> None:
    folder = bible_folder(import_room)
    run_import(import_room, scene("JUN"))
    episode = folder / "episodes/s2e03-x.md"
    episode.write_text(episode.read_text() + "\n## Room notes\nCut the fog.\n")
    import_room.bible.ingest(folder, SHOW)
    edited = episode.read_bytes()
    with pytest.raises(Exception, match="was edited after it was imported"):
        run_import(import_room, scene("JUN", "MAREN"))
    assert episode.read_bytes() == edited


@pytest.mark.parametrize(
    ("encode", "mark"),
    [
        (lambda t: t.replace("\n", "\r\n").encode("utf-8"), b""),
        (lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"), codecs.BOM_UTF16_LE),
        (lambda t: codecs.BOM_UTF8 + t.replace("\n", "\r\n").encode("utf-8"), codecs.BOM_UTF8),
    ],
    ids=["crlf", "utf-16", "utf-8-bom-crlf"],
)
def test_the_bibles_own_files_keep_their_encoding_and_line_endings(
    import_room: App,
    encode,
    mark: bytes,  # type: ignore[no-untyped-def]
) -> None:
    folder = bible_folder(import_room)
    jun = folder / "characters/jun_park.md"
    original = jun.read_text(encoding="utf-8")
    jun.write_bytes(encode(original))
    import_room.bible.ingest(folder, SHOW)
    run_import(import_room, scene("JUN"))
    expected = with_appearance(original, Episode(2, 3))
    assert expected is not None
    assert jun.read_bytes() == encode(expected)
    assert jun.read_bytes().startswith(mark)


@pytest.mark.parametrize(
    "front",
    ["season: 2\nfirst_episode: 3", "episode: S2E03"],
    ids=["season-and-number", "episode-field"],
)
def test_a_hand_written_episode_is_found_however_its_code_is_written(
    import_room: App, front: str
) -> None:
    folder = bible_folder(import_room)
    hand = f"---\ntype: episode\nname: Low Water\n{front}\n---\n# Low Water\n\n## Summary\nFog.\n"
    (folder / "episodes/low_water.md").write_text(hand)
    import_room.bible.ingest(folder, SHOW)
    with pytest.raises(Exception, match=r"written by hand \(episodes/low_water.md\)"):
        run_import(import_room, scene("JUN"))
    assert not (folder / "episodes/s2e03-x.md").exists()


def test_a_failed_import_takes_back_the_folders_it_made(import_room: App, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = bible_folder(import_room)
    for path in (folder / "episodes").iterdir():
        path.rename(folder / path.name)
    (folder / "episodes").rmdir()
    import_room.bible.ingest(folder, SHOW)
    real = import_room.bible.ingest
    calls: list[int] = []

    def failing(directory, show, progress=None):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk full")
        return real(directory, show)

    monkeypatch.setattr(import_room.bible, "ingest", failing)
    with pytest.raises(OSError):
        run_import(import_room, scene("JUN"))
    assert not (folder / "episodes").exists()


# ---- which episode, which title ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("s2e01_the_lamp_room.fountain", "S2E01"),
        ("201-low-water.fdx", "S2E01"),
        ("1x07 night.fountain", "S1E07"),
        ("2026-11-24 pilot.fountain", None),  # a date, not episode 2026
        ("2026_draft.fdx", None),
        ("pilot.fountain", None),
    ],
)
def test_the_episode_from_a_file_name(name: str, code: str | None) -> None:
    if code is None:
        with pytest.raises(ValueError, match="cannot tell which episode"):
            episode_of(Script(), name, None, 1)
    else:
        assert episode_of(Script(), name, None, 1).code == code


def test_titles_from_title_pages() -> None:
    assert title_of(Script(title="The Captain's Daughter's Wedding"), "x") == (
        "The Captain's Daughter's Wedding"
    )
    assert title_of(Script(title="THE LANTERN LINE “The Lamp Room”"), "x") == "The Lamp Room"
    final_draft = Script(
        title="THE LANTERN LINE", title_page={"Title": "THE LANTERN LINE", "Line 2": '"Low Water"'}
    )
    assert title_of(final_draft, "x") == "Low Water"
    assert title_of(Script(), "s2e03_low_water.fountain") == "Low Water"


def test_appears_in_written_over_several_lines_is_rewritten_whole() -> None:
    text = "---\ntype: character\nname: W\nappears_in: [S1E01,\n  S1E02]  # seen\nx: 1\n---\n# W\n"
    assert with_appearance(text, Episode(2, 4)) == (
        "---\ntype: character\nname: W\nappears_in: [S1E01, S1E02, S2E04]  # seen\nx: 1\n---\n# W\n"
    )
