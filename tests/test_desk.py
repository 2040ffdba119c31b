"""The writing desk, part one: `scene` and `shots` on the real bundled model and real
Chroma, in the room and through the Slack and Discord fakes (files included), and every
bad input refused with its message and nothing written to the thread."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest
from screenplain.parsers import fountain as screenplain
from screenplain.types import Dialog, Slug

from agents.commands.scene import SceneDraft, SceneLine, checked_text, scene_text
from agents.commands.shots import (
    COLUMNS,
    Angle,
    Movement,
    ShotList,
    ShotSize,
    as_csv,
    rows,
    spreadsheet_safe,
)
from agents.continuity.run import flag_lines
from agents.desk import cue_for, find_episode, split_with
from agents.errors import BadRequest
from agents.fountain import Element, Heading, parse_heading, split_scenes, write_scene
from agents.messages import Reply
from bot.compose import App
from bot.slack_render import mrkdwn
from bot.slack_render import split as slack_split
from memory.episodes import Episode
from memory.history import ConversationKey, HistoryStore, Turn
from tests.conftest import SHOW, ask, assert_clean, history_turns, message, run
from tests.discord_fake import CHANNEL, bot_maker, discord_harness, interaction_payload
from tests.slack_fake import mention, room_maker, slack_harness

DESK_BITS = ("quoted material", "Who speaks")  # the scene and shots prompts
SCENE = "/scene Maren finds Toby's phone in the wheelhouse with Maren, Jun"


def said(app: App, text: str, thread: str = "desk") -> tuple[Reply, list[str]]:
    return run(ask(app, message(text, thread=thread)))


def parsed(text: str) -> list[object]:
    return list(screenplain.parse(io.StringIO(text)).paragraphs)


def character_cues(app: App) -> dict[str, str]:
    """Every cue a bible character may speak under, with the character's name."""
    return {cue_for(e): e.name for e in app.bible.entities(SHOW, "character")}


# ---- pure parts ----------------------------------------------------------------------------
def test_written_fountain_always_parses_with_its_heading_cues_and_parentheticals() -> None:
    scene = write_scene(
        Heading("INT.", "The Lantern - wheelhouse", "NIGHT"),
        [
            Element("INT. a line of action that looks like a heading"),
            Element("(laughs) That's on me.", "MAREN"),
            Element("FOG", ""),
            Element("Where is it?", "JUN", "quietly"),
        ],
    )
    paragraphs = parsed(scene)
    assert isinstance(paragraphs[0], Slug)
    assert str(paragraphs[0].line) == "INT. THE LANTERN - WHEELHOUSE - NIGHT"
    dialog = [p for p in paragraphs if isinstance(p, Dialog)]
    assert [str(d.character) for d in dialog] == ["MAREN", "JUN"]
    assert [str(b[1]) for b in dialog[0].blocks] == ["(laughs)", "That's on me."]
    assert not any(isinstance(p, Slug) for p in paragraphs[1:])  # forced to action


def test_headings_scenes_and_with_lists_are_read_as_writers_write_them() -> None:
    assert parse_heading("int. anchor & ash – night") == Heading("INT.", "ANCHOR & ASH", "NIGHT")
    assert parse_heading("INT./EXT. THE LANTERN - CAR DECK - DAWN") == Heading(
        "INT./EXT.", "THE LANTERN - CAR DECK", "DAWN"
    )
    assert parse_heading("Maren walks in.") is None
    scenes = split_scenes("INT. BAR - DAY\nDel pours.\n\nEXT. QUAY - NIGHT\nFog.")
    assert [(s.heading and s.heading.place, s.text) for s in scenes] == [
        ("BAR", "Del pours."),
        ("QUAY", "Fog."),
    ]
    assert split_with("a fight on deck with Maren, Jun and Wren") == (
        "a fight on deck",
        ["Maren", "Jun", "Wren"],
    )
    assert split_with("Maren argues with the tide") == ("Maren argues with the tide", [])


# ---- scene and shots on the real model -------------------------------------------------------
def test_scene_then_shots_in_one_thread(app: App) -> None:
    reply, _ = said(app, SCENE)
    assert reply.kind == "scene", reply.text
    draft = SceneDraft.model_validate(reply.data)
    paragraphs = parsed(draft.fountain)
    assert isinstance(paragraphs[0], Slug) and str(paragraphs[0].line) == draft.heading.line
    cues = character_cues(app)
    spoken = {str(p.character) for p in paragraphs if isinstance(p, Dialog)}
    assert spoken and spoken <= set(cues), spoken  # only bible characters speak
    assert set(draft.cast) <= set(cues.values()) and not draft.new_characters
    assert {"Maren Kessler", "Jun Park"} <= {e for e in cues.values()}
    voices = {c.label for c in draft.voice_notes}
    spoke_with_notes = {  # every speaker in the sample has Voice notes: each is cited
        c.citation
        for name in draft.cast
        for c in (app.bible.lookup(SHOW, name, "character") or (None, []))[1]
        if c.heading.endswith("> Voice")
    }
    assert voices == spoke_with_notes and voices
    assert f"```fountain\n{draft.fountain.rstrip()}\n```" in reply.text
    assert_clean(reply, voices | {c.label for c in draft.sources}, DESK_BITS)
    [scene_file] = reply.files
    assert scene_file.when_long and scene_file.name.endswith(".fountain")
    assert scene_file.data.decode() == draft.fountain and reply.brief

    reply, _ = said(app, "/shots")
    assert reply.kind == "shots", reply.text
    shots = ShotList.model_validate(reply.data)
    assert shots.scenes == [draft.heading.line]
    assert [s.shot for s in shots.shots] == [f"1{chr(65 + i)}" for i in range(len(shots.shots))]
    for shot in shots.shots:
        assert shot.size in set(ShotSize) and shot.angle in set(Angle)
        assert shot.movement in set(Movement)
        assert (shot.int_ext, shot.location, shot.time) == (
            draft.int_ext,
            draft.place,
            draft.time,
        )
        assert set(shot.cast) <= set(draft.cast)
    [sheet] = reply.files
    assert sheet.mime == "text/csv" and sheet.data == as_csv(shots)
    assert sheet.data.startswith("\ufeff".encode())  # Excel reads UTF-8 by its mark
    table = list(csv.reader(io.StringIO(sheet.data.decode("utf-8-sig"))))
    assert table[0] == list(COLUMNS)
    assert table[1:] == [[spreadsheet_safe(cell) for cell in row] for row in rows(shots)]
    assert reply.table is not None and len(reply.table.rows) == len(shots.shots)
    assert_clean(reply, set(), DESK_BITS)


def test_shots_from_an_episode_section_cite_it_and_cast_only_bible_names(app: App) -> None:
    reply, _ = said(app, "/shots S1E04 Aftermath", thread="ep")
    assert reply.kind == "shots", reply.text
    shots = ShotList.model_validate(reply.data)
    label = "[episodes/ep104_undertow.md > 104 — Undertow > Aftermath]"
    assert [c.label for c in shots.sources] == [label]
    names = {e.name for e in app.bible.entities(SHOW, "character")}
    assert all(set(s.cast) <= names for s in shots.shots)
    assert_clean(reply, {label}, DESK_BITS)


def test_scene_with_a_name_the_bible_lacks_writes_it_as_new_and_says_so(app: App) -> None:
    reply, _ = said(app, "/scene Maren and a stranger argue on the car deck with Maren, Wren")
    assert reply.kind == "scene", reply.text
    draft = SceneDraft.model_validate(reply.data)
    assert draft.new_characters == ["Wren"]
    assert "Wren is not in the lantern-line bible: written as a new character" in reply.text
    spoken = {str(p.character) for p in parsed(draft.fountain) if isinstance(p, Dialog)}
    assert spoken <= {"MAREN", "WREN"}
    assert all(line.character is None for line in draft.lines if line.cue == "WREN")


# ---- bad input: a message, and nothing written --------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/scene", "'scene' needs PREMISE"),
        ("/scene with Maren, Jun", "'scene' needs PREMISE: what happens in the scene"),
        ("/shots", "There is no scene in this thread"),
        ("/shots S1E09", "has no episode S1E09. Its episodes: S1E01 Night Crossing"),
        ("/shots Undertow Nope", "Undertow has no section 'Nope'. Its sections: Summary"),
        ("/shots banana split", "is not a scene or an episode this bible knows"),
        (
            "/shots "
            + "\n".join(f"INT. ROOM {i} - DAY\nMaren waits. Jun waits." for i in range(4)),
            "has 4 scenes; a shot list takes at most 3",
        ),
        ("/shots INT. QUAY - NIGHT\n" + "Maren waits on the quay. " * 300, "Cut about"),
    ],
)
def test_bad_input_is_refused_with_its_message_and_nothing_is_written(
    app: App, text: str, expected: str
) -> None:
    before = history_turns(app, "bad")
    reply, _ = said(app, text, thread="bad")
    assert reply.kind == "error" and expected in reply.text, reply.text
    assert "Traceback" not in reply.text
    assert history_turns(app, "bad") == before and not reply.files


def test_a_later_episode_is_hidden_from_a_room_breaking_an_earlier_one(app: App) -> None:
    said(app, "/episode S1E03", thread="early")
    reply, _ = said(app, "/shots S1E05 Summary", thread="early")
    assert reply.kind == "error" and "S1E05 comes after S1E03" in reply.text
    assert "Slack Water" not in reply.text and "Ada" not in reply.text  # no title, no canon
    reply, _ = said(app, "/shots Slack Water Summary", thread="early")
    assert reply.kind == "error" and "S1E05" not in reply.text and "Ada" not in reply.text


# ---- files through the Slack and Discord fakes ------------------------------------------------
def test_slack_scene_then_shots_upload_the_csv_intact_into_the_thread(app: App) -> None:
    async def go():  # type: ignore[no-untyped-def]
        async with slack_harness(room_maker(app.room)) as h:
            assert await h.event(mention(SCENE, "700.1"), "EvD1") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1, timeout=300)
            follow = mention("/shots", "700.2") | {"thread_ts": "700.1"}
            assert await h.event(follow, "EvD2") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 2, timeout=300)
            return h

    h = run(go())
    key = ConversationKey("slack", "T1", "C1", "700.1")
    found = app.room.services.history.latest_result(key, SHOW, ["shots"])
    assert found is not None
    shots = ShotList.model_validate_json(found[1])
    csvs = [u for u in h.fake.files() if u.filename.endswith(".csv")]
    assert [(u.data, u.channel, u.thread_ts) for u in csvs] == [(as_csv(shots), "C1", "700.1")]
    scene = app.room.services.history.latest_result(key, SHOW, ["scene"])
    assert scene is not None
    draft = SceneDraft.model_validate_json(scene[1])
    fountains = [u.data for u in h.fake.files() if u.filename.endswith(".fountain")]
    if len(slack_split(mrkdwn(scene_text(draft)))) > 1:  # too long for one message: a file
        assert fountains == [draft.fountain.encode()]
        assert any("attached as scene-" in text for text in h.fake.shown_in("700.1"))
    else:  # one message: the draft is in it, and no file repeats it
        assert fountains == []
        assert any(mrkdwn(draft.heading.line) in text for text in h.fake.shown_in("700.1"))
    tables = [
        block
        for name, args in h.fake.calls
        if name in ("chat.postMessage", "chat.update")
        for block in (args.get("blocks") or [])
        if isinstance(block, dict) and block.get("type") == "table"
    ]
    assert tables and tables[-1]["rows"][0][0]["text"] == "Shot"
    assert all("<!" not in str(args.get("text")) for _, args in h.fake.calls)


def test_slack_shots_in_the_thread_of_a_wr_scene_finds_that_scene(app: App) -> None:
    """`/wr scene` belongs to the writer's own command history in the channel, while its
    reply sits in a thread: asking there for shots finds the scene."""

    async def go():  # type: ignore[no-untyped-def]
        async with slack_harness(room_maker(app.room)) as h:
            assert await h.command("scene Nell asks Calder about the lamp with Nell, Calder") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1, timeout=300)
            posted = h.fake.named("chat.postMessage")[0]
            assert posted.get("thread_ts") is None and "Scene draft" in posted["text"]
            ts = next(t for t, m in h.fake.messages.items() if m["text"] == posted["text"])
            assert await h.event(mention("/shots", "800.5", thread_ts=ts), "EvD3") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 2, timeout=300)
            return h, ts

    h, ts = run(go())
    shown = h.fake.shown_in(ts)
    assert any("Shot list" in text for text in shown), shown
    assert not any("There is no scene" in text for text in shown)
    assert [u.thread_ts for u in h.fake.files() if u.filename.endswith(".csv")] == [ts]


def test_discord_shots_command_attaches_the_csv_intact(app: App) -> None:
    async def go():  # type: ignore[no-untyped-def]
        async with discord_harness(bot_maker(app.room)) as h:
            option = [{"name": "scene", "type": 3, "value": "S1E03 Clues"}]
            h.interaction(interaction_payload("shots", option))
            await h.wait_for(lambda: h.bot.replies_sent >= 1, timeout=300)
            return h

    h = run(go())
    files = h.fake.files_in(str(CHANNEL))
    assert [f.filename for f in files] == ["shots-fog-bell-clues.csv"]
    table = list(csv.reader(io.StringIO(files[0].data.decode("utf-8-sig"))))
    assert table[0] == list(COLUMNS) and len(table) >= 4
    assert {row[2] for row in table[1:]} <= {s.value for s in ShotSize}
    posted = [b["content"] for b in h.fake.named("POST", rf"^/channels/{CHANNEL}/messages$")]
    assert any("Shot list" in text and "```" in text for text in posted if text)
    assert all(b["allowed_mentions"]["parse"] == [] for b in h.fake.named("POST", "messages$"))


def test_help_has_an_example_for_each_desk_command(app: App) -> None:
    for name in ("scene", "shots"):
        reply, _ = said(app, f"/help {name}")
        assert "example:" in reply.text and name in reply.text


# ---- what the desk reads from the bible, without the model ------------------------------------
def test_a_character_who_speaks_after_their_death_is_flagged(app: App) -> None:
    draft = SceneDraft(
        premise="the wake",
        int_ext="INT.",
        place="ANCHOR & ASH",
        time="NIGHT",
        opening="The crew drinks in silence.",
        lines=[
            SceneLine(cue="TOBY", character="Tobias Vell", line="Pour me one, Cap."),
            SceneLine(cue="MAREN", character="Maren Kessler", line="That's on me."),
        ],
    )
    flags = flag_lines(app.bible, SHOW, checked_text(draft), Episode(1, 5))
    assert len(flags) == 1 and "Tobias Vell died in S1E04" in flags[0]
    assert flag_lines(app.bible, SHOW, checked_text(draft), Episode(1, 3)) == []


def test_episode_words_a_pasted_scene_may_start_with_are_not_taken_for_episodes(app: App) -> None:
    services = app.room.services
    assert find_episode(services, SHOW, "12 INT. BAR - DAY".split(), None) is None
    found = find_episode(services, SHOW, "104 Aftermath".split(), None)
    assert found is not None and found[0].name == "Undertow" and found[2] == 1
    assert find_episode(services, SHOW, ["Slack", "Water"], Episode(1, 3)) is None  # hidden
    with pytest.raises(BadRequest) as refused:
        find_episode(services, SHOW, ["S1E05"], Episode(1, 3))
    assert "Slack Water" not in str(refused.value) and "comes after S1E03" in str(refused.value)
    assert (
        find_episode(services, SHOW, "S1E05 the crew waits on the quay".split(), Episode(1, 3))
        is None
    )


def test_a_room_database_from_before_typed_results_keeps_its_turns(tmp_path: Path) -> None:
    """Migration 3 on a database with turns: old rows read as talk, new ones keep results."""
    path = tmp_path / "room.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES (2);"
        "CREATE TABLE turns (id INTEGER PRIMARY KEY AUTOINCREMENT, platform TEXT NOT NULL,"
        " workspace TEXT NOT NULL, channel TEXT NOT NULL, thread TEXT NOT NULL, role TEXT"
        " NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL, prompt_text TEXT NOT NULL,"
        " canon_ids TEXT NOT NULL DEFAULT '[]', tokens INTEGER NOT NULL, created_at REAL"
        " NOT NULL, show TEXT NOT NULL DEFAULT '');"
        "INSERT INTO turns (platform, workspace, channel, thread, role, author, text,"
        " prompt_text, tokens, created_at, show) VALUES ('terminal', 'local', 'c', 't',"
        " 'writer', 'dana', 'old words', 'old words', 2, 1.0, 'lantern-line');"
    )
    db.commit()
    db.close()
    store = HistoryStore(path)
    key = ConversationKey("terminal", "local", "c", "t")
    assert [(t.text, t.kind, t.result) for t in store.turns(key, SHOW)] == [("old words", "", None)]
    assert store.latest_result(key, SHOW, ["scene"]) is None
    store.append(
        key,
        SHOW,
        [Turn("assistant", "bot", "a scene", "a scene", 2, kind="scene", result='{"x": 1}')],
    )
    assert store.latest_result(key, SHOW, ["scene", "shots"]) == ("scene", '{"x": 1}')
    assert store.latest_result(key, "other-show", ["scene"]) is None
    store.close()


def test_a_shot_list_csv_keeps_formulas_inert() -> None:
    assert spreadsheet_safe('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert spreadsheet_safe("+1") == "'+1" and spreadsheet_safe("@SUM") == "'@SUM"
    assert spreadsheet_safe("Maren at the wheel") == "Maren at the wheel"
