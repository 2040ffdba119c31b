"""The writing desk, part one: `scene` and `shots` on the real bundled model and real
Chroma, in the room and through the Slack and Discord fakes (files included), and every
bad input refused with its message and nothing written to the thread."""

from __future__ import annotations

import csv
import io
import re

import pytest
from screenplain.parsers import fountain as screenplain
from screenplain.types import Dialog, Slug

from agents.commands.scene import SceneDraft
from agents.commands.shots import COLUMNS, Angle, Movement, ShotList, ShotSize, as_csv, rows
from agents.desk import cue_for, split_with
from agents.fountain import Element, Heading, parse_heading, split_scenes, write_scene
from agents.messages import Reply
from bot.compose import App
from memory.history import ConversationKey
from tests.conftest import INSTRUCTION_BITS, SHOW, ask, message, run
from tests.discord_fake import CHANNEL, bot_maker, discord_harness, interaction_payload
from tests.slack_fake import mention, room_maker, slack_harness

SCENE = "/scene Maren finds Toby's phone in the wheelhouse with Maren, Jun"
LABEL = re.compile(r"\[[^\[\]]+\.md > [^\[\]]+\]")


def said(app: App, text: str, thread: str = "desk") -> tuple[Reply, list[str]]:
    return run(ask(app, message(text, thread=thread)))


def parsed(text: str) -> list[object]:
    return list(screenplain.parse(io.StringIO(text)).paragraphs)


def character_cues(app: App) -> dict[str, str]:
    """Every cue a bible character may speak under, with the character's name."""
    return {cue_for(e): e.name for e in app.bible.entities(SHOW, "character")}


def assert_clean(reply: Reply, cited: set[str]) -> None:
    """What must be absent: the prompt's own words and labels the command was not given."""
    for bit in (*INSTRUCTION_BITS, "Answer in JSON", "quoted material", "Who speaks"):
        assert bit not in reply.text, bit
    assert set(LABEL.findall(reply.text)) <= cited
    assert "<!" not in reply.text and "@everyone" not in reply.text


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
    assert_clean(reply, voices | {c.label for c in draft.sources})
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
    table = list(csv.reader(io.StringIO(sheet.data.decode())))
    assert table[0] == list(COLUMNS) and table[1:] == rows(shots)
    assert reply.table is not None and len(reply.table.rows) == len(shots.shots)
    assert_clean(reply, set())


def test_shots_from_an_episode_section_cite_it_and_cast_only_bible_names(app: App) -> None:
    reply, _ = said(app, "/shots S1E04 Aftermath", thread="ep")
    assert reply.kind == "shots", reply.text
    shots = ShotList.model_validate(reply.data)
    label = "[episodes/ep104_undertow.md > 104 — Undertow > Aftermath]"
    assert [c.label for c in shots.sources] == [label]
    names = {e.name for e in app.bible.entities(SHOW, "character")}
    assert all(set(s.cast) <= names for s in shots.shots)
    assert_clean(reply, {label})


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
def turns(app: App, thread: str) -> int:
    key = ConversationKey("terminal", "local", "writers", thread)
    return len(app.room.services.history.turns(key, SHOW))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/scene", "'scene' needs PREMISE"),
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
    before = turns(app, "bad")
    reply, _ = said(app, text, thread="bad")
    assert reply.kind == "error" and expected in reply.text, reply.text
    assert "Traceback" not in reply.text
    assert turns(app, "bad") == before and not reply.files


def test_a_later_episode_is_hidden_from_a_room_breaking_an_earlier_one(app: App) -> None:
    said(app, "/episode S1E03", thread="early")
    reply, _ = said(app, "/shots S1E05 Summary", thread="early")
    assert reply.kind == "error" and "comes after S1E03" in reply.text
    assert "Ada" not in reply.text  # nothing of the later episode leaks


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
    for upload in (u for u in h.fake.files() if u.filename.endswith(".fountain")):
        assert upload.data == draft.fountain.encode()  # sent only when too long for a message
    tables = [
        block
        for name, args in h.fake.calls
        if name in ("chat.postMessage", "chat.update")
        for block in (args.get("blocks") or [])
        if isinstance(block, dict) and block.get("type") == "table"
    ]
    assert tables and tables[-1]["rows"][0][0]["text"] == "Shot"
    assert all("<!" not in str(args.get("text")) for _, args in h.fake.calls)


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
    table = list(csv.reader(io.StringIO(files[0].data.decode())))
    assert table[0] == list(COLUMNS) and len(table) >= 4
    assert {row[2] for row in table[1:]} <= {s.value for s in ShotSize}
    posted = [b["content"] for b in h.fake.named("POST", rf"^/channels/{CHANNEL}/messages$")]
    assert any("Shot list" in text and "```" in text for text in posted if text)
    assert all(b["allowed_mentions"]["parse"] == [] for b in h.fake.named("POST", "messages$"))


def test_help_has_an_example_for_each_desk_command(app: App) -> None:
    for name in ("scene", "shots"):
        reply, _ = said(app, f"/help {name}")
        assert "example:" in reply.text and name in reply.text
