"""Export: what the room made, as files for the writers' own tools.

The Fountain and Final Draft writers on a hand-built script with every kind of paragraph,
read back by independent readers (screenplain for Fountain, defusedxml for FDX); the
converters from each stored result; the `export` command in the terminal room, Slack and
Discord on results the room stored (one on a scene the real model drafted); every bad input
refused with its message and nothing written; and `writersroom export` with its exit codes.
Every exported line must come from the stored result: nothing invented, no instruction
text, no pings.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from defusedxml import ElementTree as SafeET
from screenplain.parsers import fountain as screenplain
from screenplain.types import (
    Action,
    Dialog,
    DualDialog,
    PageBreak,
    Section,
    Slug,
    Transition,
)

from agents.commands import addressed_command
from agents.commands.scene import SceneDraft, SceneLine
from agents.commands.shots import COLUMNS, ShotList, as_csv, rows
from agents.export_choices import FORMATS, WHATS
from agents.exporting import Stored, file_data
from agents.messages import Reply
from agents.schemas import (
    STRUCTURES,
    Attributed,
    Beat,
    BeatSheet,
    Citation,
    PitchResult,
    WrapUp,
)
from agents.screenplay.fdx_out import write_fdx
from agents.screenplay.fountain_out import write_fountain
from agents.screenplay.from_results import (
    ACTS,
    BEAT_COLUMNS,
    beats_csv,
    beats_script,
    scene_script,
    shots_script,
    wrap_script,
)
from agents.screenplay.markdown_out import write_markdown
from agents.screenplay.model import Kind, Para, Script
from bot import cli
from bot.compose import App
from bot.settings import Settings
from bot.terminal import TerminalRoom
from memory.history import ConversationKey, HistoryStore, Turn
from memory.ledger import Ledger
from memory.ledger_file import Actor
from tests.conftest import (
    INSTRUCTION_BITS,
    REPO,
    SHOW,
    ask,
    consoles,
    message,
    run,
    scripted_app,
)
from tests.discord_fake import (
    CHANNEL,
    GUILD,
    WRITER,
    bot_maker,
    discord_harness,
    interaction_payload,
)
from tests.slack_fake import mention, room_maker, slack_harness

PINGS = ("<!channel>", "<!here>", "@everyone", "@here")


# ---- a hand-built script with every kind of paragraph -------------------------------------------
SCRIPT = Script(
    title="The Fog Bell",
    title_page={"Credit": "Written by", "Author": "Dana Reyes\nSam Okafor", "Draft date": "1 May"},
    paras=(
        Para(Kind.SECTION, "Act One", level=1),
        Para(Kind.SYNOPSIS, "Maren finds Toby's phone."),
        Para(Kind.HEADING, "INT. WHEELHOUSE - NIGHT", number="12A"),
        Para(Kind.ACTION, "Rain on the glass. The radio hisses."),
        Para(Kind.ACTION, "THE PHONE BUZZES."),
        Para(Kind.ACTION, "LATER THAT NIGHT", centered=True),
        Para(Kind.CHARACTER, "MAREN (V.O.)"),
        Para(Kind.PARENTHETICAL, "quietly"),
        Para(Kind.DIALOGUE, "Who's there? *Toby*?"),
        Para(Kind.CHARACTER, "McCLANE"),
        Para(Kind.DIALOGUE, "Only me."),
        Para(Kind.CHARACTER, "JUN", dual=True),
        Para(Kind.DIALOGUE, "And me."),
        Para(Kind.CHARACTER, "NELL"),
        Para(Kind.LYRIC, "Row the boat to the bell"),
        Para(Kind.TRANSITION, "CUT TO:"),
        Para(Kind.PAGE_BREAK),
        Para(Kind.HEADING, "THE CAR DECK"),
        Para(Kind.ACTION, "INT. NOT A HEADING - DAY"),
        Para(Kind.ACTION, "Maren reads /* the log [[ aloud."),
        Para(Kind.TRANSITION, "Fade out."),
    ),
)

GOLDEN_FOUNTAIN = """\
Title: The Fog Bell
Credit: Written by
Author:
   Dana Reyes
   Sam Okafor
Draft date: 1 May

# Act One

= Maren finds Toby's phone.

INT. WHEELHOUSE - NIGHT #12A#

Rain on the glass. The radio hisses.

!THE PHONE BUZZES.

> LATER THAT NIGHT <

MAREN (V.O.)
(quietly)
Who's there? \\*Toby\\*?

@McCLANE
Only me.

JUN ^
And me.

NELL
~Row the boat to the bell

CUT TO:

===

.THE CAR DECK

!INT. NOT A HEADING - DAY

Maren reads / \\* the log [ [ aloud.

> Fade out.
"""


def parsed(text: str) -> list[object]:
    return list(screenplain.parse(io.StringIO(text)).paragraphs)


def dialogue(paragraphs: list[object]) -> list[tuple[str, list[str]]]:
    """Each speech as (cue, its lines), dual speeches in order."""
    said: list[tuple[str, list[str]]] = []
    for p in paragraphs:
        for d in (p.left, p.right) if isinstance(p, DualDialog) else [p]:
            if isinstance(d, Dialog):
                said.append((str(d.character), [str(text) for _, text in d.blocks]))
    return said


def fdx_paragraphs(data: bytes) -> list[tuple[str, str, dict[str, str]]]:
    """(Type, text, attributes) for each paragraph of Content, inside dual dialogue too."""
    root = SafeET.fromstring(data)
    out = []
    for p in root.find("Content").iter("Paragraph"):
        out.append((p.get("Type", ""), "".join(t.text or "" for t in p.findall("Text")), p.attrib))
    return out


def test_fountain_writer_golden_and_read_back_by_screenplain() -> None:
    text = write_fountain(SCRIPT)
    assert text == GOLDEN_FOUNTAIN
    script = screenplain.parse(io.StringIO(text))
    assert script.title_page == {
        "Title": ["The Fog Bell"],
        "Credit": ["Written by"],
        "Author": ["Dana Reyes", "Sam Okafor"],
        "Draft date": ["1 May"],
    }
    paras = list(script.paragraphs)
    slugs = [
        (str(p.line), p.scene_number and str(p.scene_number)) for p in paras if isinstance(p, Slug)
    ]
    assert slugs == [("INT. WHEELHOUSE - NIGHT", "12A"), ("THE CAR DECK", None)]
    assert dialogue(paras) == [
        ("MAREN (V.O.)", ["(quietly)", "Who's there? *Toby*?"]),
        ("McCLANE", ["Only me."]),
        ("JUN", ["And me."]),
        ("NELL", ["~Row the boat to the bell"]),  # screenplain keeps the lyric mark
    ]
    assert [type(p) for p in paras].count(DualDialog) == 1
    actions = [
        (" ".join(str(x) for x in p.lines), p.centered) for p in paras if isinstance(p, Action)
    ]
    assert actions == [
        ("Rain on the glass. The radio hisses.", False),
        ("THE PHONE BUZZES.", False),
        ("LATER THAT NIGHT", True),
        ("INT. NOT A HEADING - DAY", False),
        ("Maren reads / * the log [ [ aloud.", False),
    ]
    assert [str(p.line) for p in paras if isinstance(p, Transition)] == ["CUT TO:", "FADE OUT."]
    assert [p.level for p in paras if isinstance(p, Section)] == [1]
    assert sum(isinstance(p, PageBreak) for p in paras) == 1


def test_fountain_forces_only_what_would_read_as_something_else() -> None:
    risky = Script(
        paras=(
            Para(Kind.ACTION, "Maren: go below."),  # first line: would read as a title page
            Para(Kind.HEADING, "INT. GALLEY - DAY"),
            Para(Kind.ACTION, "MAREN (to herself)\nStill warm."),  # a cue and a line
            Para(Kind.ACTION, "= not a synopsis"),
            Para(Kind.ACTION, "SMASH CUT TO:"),
            Para(Kind.CHARACTER, "EXT. QUAY"),  # a cue that reads as a heading
            Para(Kind.DIALOGUE, "(beat) I know."),
            Para(Kind.TRANSITION, "smash cut to:"),
        )
    )
    text = write_fountain(risky)
    assert text.startswith("\nMaren: go below.")  # a blank first line: no title page
    paras = parsed(text)
    assert [type(p) for p in paras] == [
        Action,
        Slug,
        Action,
        Action,
        Action,
        Dialog,
        Transition,
    ]
    assert str(paras[1].line) == "INT. GALLEY - DAY"
    assert dialogue(paras) == [("EXT. QUAY", ["(beat)", "I know."])]
    assert str(paras[-1].line) == "SMASH CUT TO:"
    assert "[[" not in text and "/*" not in text


def test_fdx_writer_uses_final_drafts_paragraph_types_in_order() -> None:
    data = write_fdx(SCRIPT)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"')
    root = SafeET.fromstring(data)
    assert (root.tag, root.get("DocumentType"), root.get("Version")) == (
        "FinalDraft",
        "Script",
        "5",
    )
    found = fdx_paragraphs(data)
    assert [t for t, _, _ in found] == [
        "Outline 1",
        "Summary",
        "Scene Heading",
        "Action",
        "Action",
        "Action",
        "Character",
        "Parenthetical",
        "Dialogue",
        "",  # the paragraph that holds the dual dialogue
        "Character",
        "Dialogue",
        "Character",
        "Dialogue",
        "Character",
        "Lyrics",
        "Transition",
        "Scene Heading",
        "Action",
        "Action",
        "Transition",
    ]
    texts = [text for _, text, _ in found]
    assert texts[7] == "(quietly)" and texts[8] == "Who's there? *Toby*?"
    assert texts[19] == "Maren reads /* the log [[ aloud."  # XML needs no Fountain defusing
    attrs = [a for _, _, a in found]
    assert attrs[2]["Number"] == "12A" and attrs[5]["Alignment"] == "Center"
    assert attrs[17].get("StartsNewPage") == "Yes"
    assert [a.get("StartsNewPage") for a in attrs].count("Yes") == 1
    dual = root.find("Content/Paragraph/DualDialogue")
    assert [p.findtext("Text") for p in dual.findall("Paragraph")] == [
        "McCLANE",
        "Only me.",
        "JUN",
        "And me.",
    ]
    title = [p.findtext("Text") for p in root.findall("TitlePage/Content/Paragraph")]
    assert title == ["The Fog Bell", "Written by", "Dana Reyes", "Sam Okafor", "1 May"]


def test_fdx_escapes_text_and_drops_what_xml_cannot_hold() -> None:
    data = write_fdx(
        Script(paras=(Para(Kind.ACTION, 'Nell & "Jun" <look>\x07 at ]]> the bell\x00'),))
    )
    [(kind, text, _)] = fdx_paragraphs(data)
    assert (kind, text) == ("Action", 'Nell & "Jun" <look> at ]]> the bell')
    assert b"<look>" not in data and b"\x07" not in data and b"\x00" not in data
    assert SafeET.fromstring(data).find("TitlePage") is None  # no title, no title page


# ---- results the room stores ------------------------------------------------------------------
CITE = Citation(file="characters/maren_kessler.md", heading="Maren Kessler > Voice")


def beat_sheet(structure: str = "save-the-cat", premise: str = "Toby's phone rings") -> BeatSheet:
    tv = structure.startswith("tv-")
    return BeatSheet(
        premise=premise,
        structure=structure,
        beats=[
            Beat(
                name=name,
                what_happens=f"Beat {i}: Maren and the bell, part {i}.",
                characters=["Maren Kessler"] if i % 2 else [],
                story_line="A" if tv else None,
                sources=[CITE] if i == 1 else [],
            )
            for i, name in enumerate(STRUCTURES[structure], 1)
        ],
        sources=[CITE],
    )


def scene_draft() -> SceneDraft:
    return SceneDraft(
        premise="Maren finds Toby's phone in the wheelhouse",
        int_ext="INT.",
        place="WHEELHOUSE",
        time="NIGHT",
        opening="Rain needles the glass; a phone glows under the chart table.",
        lines=[
            SceneLine(
                cue="MAREN",
                character="Maren Kessler",
                parenthetical="quietly",
                line="This is Toby's. He never left it anywhere.",
                action_after="She thumbs the cracked screen.",
            ),
            SceneLine(cue="JUN", character="Jun Park", line="Then someone brought it here."),
        ],
        cast=["Maren Kessler", "Jun Park"],
    )


def shot_list() -> ShotList:
    base = {"int_ext": "INT.", "location": "WHEELHOUSE", "time": "NIGHT", "angle": "eye level"}
    return ShotList(
        source="the thread's scene (INT. WHEELHOUSE - NIGHT)",
        scenes=["INT. WHEELHOUSE - NIGHT"],
        shots=[
            {
                **base,
                "scene": 1,
                "shot": "1A",
                "size": "WS",
                "movement": "static",
                "description": "The wheelhouse in rain",
                "lens": "24mm",
            },
            {
                **base,
                "scene": 1,
                "shot": "1B",
                "size": "CU",
                "movement": "handheld",
                "description": "=Maren's hands on the phone",
                "cast": ["Maren Kessler"],
                "sound": "rain",
                "notes": "<!channel> keep it tight",
            },
        ],
    )  # type: ignore[arg-type]


def wrap_up(with_beats: bool = True) -> WrapUp:
    return WrapUp(
        topic="What the fog bell means",
        summary="The room agreed the bell rings for the drowned.",
        decisions=[Attributed(author="dana", text="The bell rings only at slack water.")],
        top_pitches=[
            PitchResult(number=3, author="sam", text="Toby rang it himself.", votes=2),
            PitchResult(number=1, author="dana", text="Quill rigs the bell.", votes=1),
        ],
        open_questions=[Attributed(author="lee", text="Who keeps the key?")],
        beat_sheet=beat_sheet("tv-four-act", "What the fog bell means") if with_beats else None,
    )


def texts_of(result: object) -> set[str]:
    """Every string a stored result holds, however deep."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(result.model_dump(mode="json"))  # type: ignore[attr-defined]
    return found


def assert_only_from(text: str, result: object, framing: tuple[str, ...] = ()) -> None:
    """Every word of the file is in the result (or in the export's own framing: section
    names, field names): nothing invented, no instructions, no pings."""
    said = " ".join([*texts_of(result), *framing, *(str(n) for n in range(1, 40))])
    allowed = set(re.findall(r"[A-Za-z']+", said.lower()))
    words = set(re.findall(r"[A-Za-z']+", text.lower()))
    assert words <= allowed, sorted(words - allowed)
    for bit in (*INSTRUCTION_BITS, "Answer in JSON"):
        assert bit not in text
    for ping in PINGS:
        if ping not in " ".join(texts_of(result)):
            assert ping not in text


FRAMING = (
    "Title",
    "Notes",
    "Beat sheet",
    "Act One",
    "Act Two",
    "Act Three",
    "story",
    "votes",
    "vote",
    "Cast",
    "Sound",
    "Shot list",
    "Summary",
    "Decisions",
    "Top pitches",
    "Open questions",
    "Wrap-up",
    "of the brainstorm",
    "Save the Cat",
    "beats",
    "TV",
    "four-act",
    "cold open",
    "four acts",
    "tag",
    "A/B/C story lines",
)


def test_every_feature_structure_falls_in_acts_in_order() -> None:
    for structure, acts in ACTS.items():
        assert tuple(b for _, names in acts for b in names) == STRUCTURES[structure]


def test_beat_sheet_converts_to_acts_and_synopses_and_to_csv() -> None:
    sheet = beat_sheet()
    text = write_fountain(beats_script(sheet))
    assert text.startswith("Title: Toby's phone rings\nNotes: Beat sheet, Save the Cat")
    sections = re.findall(r"^# (.+)$", text, re.M)
    assert sections == ["Act One", "Act Two", "Act Three"]
    synopses = re.findall(r"^= (.+)$", text, re.M)
    assert synopses[0] == "Opening Image: Beat 1: Maren and the bell, part 1. (Maren Kessler)"
    assert synopses[3] == "Catalyst: Beat 4: Maren and the bell, part 4."
    assert len(synopses) == 15
    assert_only_from(text, sheet, FRAMING)
    outline = fdx_paragraphs(write_fdx(beats_script(sheet)))
    assert [t for t, _, _ in outline] == [
        "Outline 1",
        *["Summary"] * 5,
        "Outline 1",
        *["Summary"] * 7,
        "Outline 1",
        *["Summary"] * 3,
    ]
    table = list(csv.reader(io.StringIO(beats_csv(sheet).decode("utf-8-sig"))))
    assert table[0] == list(BEAT_COLUMNS) and len(table) == 16
    assert table[1] == [
        "1",
        "Act One",
        "Opening Image",
        "",
        sheet.beats[0].what_happens,
        "Maren Kessler",
        CITE.label,
    ]
    assert [row[1] for row in table[1:]].count("Act Two") == 7

    tv = beat_sheet("tv-four-act")
    tv_text = write_fountain(beats_script(tv))
    assert re.findall(r"^# (.+)$", tv_text, re.M) == list(STRUCTURES["tv-four-act"])
    assert "= A story: Beat 1: Maren and the bell, part 1. (Maren Kessler)" in tv_text


def test_wrap_up_converts_to_sections_with_its_beat_sheet_under_them() -> None:
    wrap = wrap_up()
    text = write_fountain(wrap_script(wrap))
    assert re.findall(r"^(#+) (.+)$", text, re.M)[:5] == [
        ("#", "Summary"),
        ("#", "Decisions"),
        ("#", "Top pitches"),
        ("#", "Open questions"),
        ("#", "Beat sheet, TV four-act (cold open, four acts, tag; A/B/C story lines)"),
    ]
    assert "## Cold Open" in text and "## Tag" in text
    assert "= #3 sam: Toby rang it himself. (2 votes)" in text
    assert "= #1 dana: Quill rigs the bell. (1 vote)" in text
    assert "= Who keeps the key? (lee)" in text
    assert "continuity" not in text.lower()  # nothing flagged: no empty section
    assert_only_from(text, wrap, FRAMING)
    bare = write_fountain(wrap_script(wrap_up(with_beats=False)))
    assert "Beat sheet" not in bare and "## " not in bare


def test_scene_draft_converts_to_the_same_scene_the_draft_wrote() -> None:
    draft = scene_draft()
    text = write_fountain(scene_script(draft))
    mine, theirs = parsed(text), parsed(draft.fountain)
    assert [str(p.line) for p in mine if isinstance(p, Slug)] == ["INT. WHEELHOUSE - NIGHT"]
    assert (
        dialogue(mine)
        == dialogue(theirs)
        == [
            ("MAREN", ["(quietly)", "This is Toby's. He never left it anywhere."]),
            ("JUN", ["Then someone brought it here."]),
        ]
    )
    assert [type(p) for p in mine] == [type(p) for p in theirs]
    fdx = fdx_paragraphs(write_fdx(scene_script(draft)))
    assert [t for t, _, _ in fdx] == [
        "Scene Heading",
        "Action",
        "Character",
        "Parenthetical",
        "Dialogue",
        "Action",
        "Character",
        "Dialogue",
    ]
    assert_only_from(text, draft, FRAMING)


def test_shot_list_converts_to_headings_and_shots_and_keeps_its_csv() -> None:
    shots = shot_list()
    stored = Stored("shots", shots, time.time())
    assert file_data(stored, "csv") == as_csv(shots)
    text = write_fountain(shots_script(shots))
    assert "INT. WHEELHOUSE - NIGHT #1#" in text
    assert "1A: WS, eye level, static, 24mm — The wheelhouse in rain" in text
    assert (
        "1B: CU, eye level, handheld — =Maren's hands on the phone — Cast: Maren Kessler — "
        "Sound: rain — Notes: <!channel> keep it tight"
    ) in text
    md = file_data(stored, "md").decode()
    assert md.splitlines()[2] == "| " + " | ".join(COLUMNS) + " |"
    assert len(md.splitlines()) == 4 + len(rows(shots))
    assert "<!channel>" not in md and "\\<\\!channel\\>" in md  # escaped, shown as text


def test_markdown_keeps_writers_text_as_text() -> None:
    md = write_markdown(
        Script(
            title="A *bold* [link](http://x.example)",
            paras=(
                Para(Kind.SYNOPSIS, "1. not a list <!here>"),
                Para(Kind.ACTION, "# not a heading"),
                Para(Kind.CHARACTER, "MAREN"),
                Para(Kind.DIALOGUE, "- not a list either"),
            ),
        )
    )
    assert md.startswith("# A \\*bold\\* \\[link\\](http://x.example)\n")
    assert "- 1\\. not a list \\<\\!here\\>" in md and "\n\\# not a heading\n" in md
    assert "**MAREN**  \n\\- not a list either" in md
    assert "<!here>" not in md and "](http" not in md.replace("\\](http", "")


# ---- the export command, on stored results ---------------------------------------------
@pytest.fixture
def room(settings: Settings, embedder: object, tmp_path: Path) -> Iterator[App]:
    """The room on the sample bible with a model that must never be asked."""
    app = scripted_app(settings, embedder, tmp_path, "THE MODEL WAS ASKED")  # type: ignore[arg-type]
    yield app
    app.close()


def store(app: App, key: ConversationKey, kind: str, result: object, at: float) -> None:
    """A command's reply with its typed result, as the room keeps it."""
    turn = Turn(
        "assistant",
        "bot",
        f"a {kind}",
        f"a {kind}",
        2,
        created_at=at,
        kind=kind,
        result=result.model_dump_json(),
    )  # type: ignore[attr-defined]
    app.room.services.history.append(key, SHOW, [turn])


def turns(app: App, key: ConversationKey) -> int:
    return len(app.room.services.history.turns(key, SHOW))


def said(app: App, text: str, thread: str = "ex", author: str = "dana") -> Reply:
    return run(ask(app, message(text, thread=thread, author=author)))[0]


def assert_export(reply: Reply, name: str, data: bytes) -> None:
    assert reply.kind == "export", reply.text
    [file] = reply.files
    assert (file.name, file.data) == (name, data) and not file.when_long
    for ping in PINGS:
        assert ping not in reply.text


def test_export_reads_the_threads_newest_result_and_attaches_it(room: App) -> None:
    key = message("", thread="ex").key
    now = time.time()
    draft, shots, sheet = scene_draft(), shot_list(), beat_sheet()
    store(room, key, "beats", sheet, now - 300)
    store(room, key, "scene", draft, now - 200)
    store(room, key, "shots", shots, now - 100)
    before = turns(room, key)

    newest = said(room, "/export")  # the shot list, as CSV by default
    assert_export(newest, "shots-the-thread-s-scene-int-wheelhouse.csv", as_csv(shots))
    assert "shot list" in newest.text and "2 shots in 1 scene" in newest.text
    assert newest.files[0].mime == "text/csv"
    assert newest.data is not None and newest.data["what"] == "shots"

    scene = said(room, "/export scene fdx")
    expected = write_fdx(scene_script(draft))
    assert_export(scene, "scene-maren-finds-toby-s-phone-in.fdx", expected)
    assert "1 scene, 2 lines of dialogue" in scene.text and "Final Draft" in scene.text
    assert scene.files[0].mime == "application/xml"
    assert said(room, "/export fdx scene").files[0].data == expected  # either order

    beats = said(room, "/export beats")
    assert_export(
        beats, "beats-toby-s-phone-rings.fountain", write_fountain(beats_script(sheet)).encode()
    )
    assert "15 beats, save-the-cat" in beats.text
    md = said(room, "/export beats markdown")
    assert md.files[0].name.endswith(".md") and md.files[0].mime == "text/markdown"
    assert said(room, "/export beats csv").files[0].data == beats_csv(sheet)
    assert turns(room, key) == before  # exporting writes nothing to the thread
    assert "THE MODEL WAS ASKED" not in "".join(r.text for r in (newest, scene, beats, md))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/export pdf", "Export does not know 'pdf'. It writes the formats fountain, fdx, md, csv"),
        ("/export scene csv", "A scene cannot be exported as csv: CSV is for tables"),
        ("/export wrap csv", "For a wrap-up, use fountain, fdx, md"),
        ("/export scene shots", "one thing in one format at a time, not scene, shots"),
        ("/export", "There is nothing in this thread to export yet"),
        ("/export scene", "There is no scene in this thread to export. Make one with /scene"),
        ("/export wrap", "wrap` in a brainstorm thread"),
        ("/export beats fdx", "Make one with /beats PREMISE"),
    ],
)
def test_bad_input_is_refused_with_its_message_and_nothing_is_written(
    room: App, text: str, expected: str
) -> None:
    key = message("", thread="bad").key
    if "csv" in text or "shots" in text:  # something to export, in the wrong form
        store(room, key, "scene", scene_draft(), time.time())
    before = turns(room, key)
    for _ in range(2):
        reply = said(room, text, thread="bad")
        assert reply.kind == "error" and expected in reply.text, reply.text
        assert reply.files == [] and "Nothing was exported." in reply.text
        assert turns(room, key) == before


def test_said_to_the_bot_export_is_the_command_only_when_its_words_say_so() -> None:
    for text in ("export", "export fdx", "export the scene as fdx", "export shots csv"):
        assert addressed_command(text) is not None, text
    for text in ("export this to where?", "export it to Final Draft how?", "export fdx?"):
        assert addressed_command(text) is None, text


def test_a_scene_from_the_writers_own_command_history_is_found_in_a_thread(room: App) -> None:
    """Slack's `/wr scene` keeps its result in the writer's own history in the channel, while
    its reply sits in a thread where the writer asks for the export."""
    own = message("", thread="", author="dana").key
    assert own.thread == "command-dana"
    store(room, own, "scene", scene_draft(), time.time())
    reply = said(room, "/export md", thread="reply-thread")
    assert reply.kind == "export" and reply.files[0].name.endswith(".md")
    assert said(room, "/export", thread="reply-thread", author="sam").kind == "error"  # not sam's


def test_a_brainstorms_wrap_up_and_its_beat_sheet_are_exported_from_the_ledger(room: App) -> None:
    key = message("", thread="bs").key
    log = room.room.services.ledger.log
    bs = log.open_brainstorm(key, SHOW, "What the fog bell means", Actor("dana", "dana"))
    older = beat_sheet(premise="An older beat sheet")
    store(room, key, "beats", older, time.time() - 600)
    wrap = wrap_up()
    saved = log.add_wrap(bs, Actor("dana", "dana"), "wrap", wrap.model_dump(exclude={"wrap"}))

    newest = said(room, "/export", thread="bs")
    assert_export(
        newest,
        "wrap-what-the-fog-bell-means.fountain",
        write_fountain(wrap_script(wrap.model_copy(update={"wrap": saved.id}))).encode(),
    )
    assert "1 decision, 2 top pitches, 1 open question and a beat sheet of 6 beats" in newest.text
    beats = said(room, "/export beats fdx", thread="bs")  # the wrap's sheet is newer
    assert beats.files[0].data == write_fdx(beats_script(wrap.beat_sheet))  # type: ignore[arg-type]
    assert "the beat sheet of the brainstorm's wrap-up" in beats.text
    md = said(room, "/export wrap md", thread="bs").files[0].data.decode()
    assert md.startswith("# What the fog bell means\n") and "- Who keeps the key? (lee)" in md

    newer = beat_sheet(premise="A newer beat sheet")
    store(room, key, "beats", newer, time.time() + 600)
    assert (
        said(room, "/export beats", thread="bs").files[0].name
        == "beats-a-newer-beat-sheet.fountain"
    )


def test_terminal_export_saves_the_file_under_exports(room: App, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    out, out_buf, err, err_buf = consoles(200)
    term = TerminalRoom(
        room.room, show=SHOW, writer="dana", thread="t", out=out, err=err, exports=folder
    )
    store(
        room,
        ConversationKey("terminal", "local", "terminal", "t"),
        "scene",
        scene_draft(),
        time.time(),
    )
    run(term.send("/export fdx"))
    [saved] = list(folder.iterdir())
    assert saved.name.endswith("-scene-maren-finds-toby-s-phone-in.fdx")
    assert saved.read_bytes() == write_fdx(scene_script(scene_draft()))
    assert "Exported the thread's scene" in out_buf.getvalue() and err_buf.getvalue() == ""

    run(term.send("/export pdf"))
    assert list(folder.iterdir()) == [saved]


def test_slack_export_in_a_thread_uploads_the_file_byte_identical(room: App) -> None:
    key = ConversationKey("slack", "T1", "C1", "700.1")
    draft = scene_draft()
    store(room, key, "scene", draft, time.time())

    async def go():  # type: ignore[no-untyped-def]
        async with slack_harness(room_maker(room.room)) as h:
            follow = mention("export fdx", "700.2") | {"thread_ts": "700.1"}
            assert await h.event(follow, "EvX1") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1, timeout=60)
            return h

    h = run(go())
    [upload] = h.fake.files()
    assert (upload.filename, upload.channel, upload.thread_ts) == (
        "scene-maren-finds-toby-s-phone-in.fdx",
        "C1",
        "700.1",
    )
    assert upload.data == write_fdx(scene_script(draft))
    shown = h.fake.shown_in("700.1")
    assert any("Exported* the thread's scene from" in text for text in shown), shown
    assert all("<!" not in str(args.get("text")) for _, args in h.fake.calls)
    assert turns(room, key) == 1  # only the stored scene


def test_discord_export_command_attaches_the_file(room: App) -> None:
    key = ConversationKey("discord", str(GUILD), str(CHANNEL), f"command-{WRITER}")
    sheet = beat_sheet()
    store(room, key, "beats", sheet, time.time())

    async def go():  # type: ignore[no-untyped-def]
        async with discord_harness(bot_maker(room.room)) as h:
            options = [
                {"name": "what", "type": 3, "value": "beats"},
                {"name": "format", "type": 3, "value": "csv"},
            ]
            h.interaction(interaction_payload("export", options))
            await h.wait_for(lambda: h.bot.replies_sent >= 1, timeout=60)
            return h

    h = run(go())
    [file] = h.fake.files_in(str(CHANNEL))
    assert (file.filename, file.data) == ("beats-toby-s-phone-rings.csv", beats_csv(sheet))
    posted = [b["content"] for b in h.fake.named("POST", rf"^/channels/{CHANNEL}/messages$")]
    assert any("15 beats" in (text or "") for text in posted)
    assert all(b["allowed_mentions"]["parse"] == [] for b in h.fake.named("POST", "messages$"))


# ---- on a scene the real model drafted --------------------------------------------------
def test_a_drafted_scene_exports_to_fountain_and_fdx_with_its_own_lines(app: App) -> None:
    reply = said(app, "/scene Maren finds Toby's phone in the wheelhouse with Maren, Jun", "desk")
    assert reply.kind == "scene", reply.text
    draft = SceneDraft.model_validate(reply.data)

    fountain = said(app, "/export", "desk")
    assert fountain.kind == "export", fountain.text
    text = fountain.files[0].data.decode()
    mine, theirs = parsed(text), parsed(draft.fountain)
    assert [str(p.line) for p in mine if isinstance(p, Slug)] == [draft.heading.line]
    assert dialogue(mine) == dialogue(theirs) and dialogue(mine)
    assert_only_from(text, draft)

    fdx = said(app, "/export fdx", "desk").files[0].data
    found = fdx_paragraphs(fdx)
    expected = ["Scene Heading", "Action"]
    for item in draft.lines:
        expected += [
            "Character",
            *(["Parenthetical"] if item.parenthetical.strip() else []),
            "Dialogue",
            *(["Action"] if item.action_after.strip() else []),
        ]
    assert [t for t, _, _ in found] == expected
    assert [text for t, text, _ in found if t == "Dialogue"] == [x.line for x in draft.lines]
    assert [text for t, text, _ in found if t == "Character"] == [x.cue for x in draft.lines]


# ---- writersroom export -----------------------------------------------------------------
@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir whose history holds a scene in the terminal's 'main' thread, and nothing
    that could load a model or the bible."""
    home = tmp_path / "data"
    home.mkdir()
    history = HistoryStore(home / "room.sqlite3")
    key = ConversationKey("terminal", "local", "terminal", "main")
    turn = Turn(
        "assistant",
        "bot",
        "a scene",
        "a scene",
        2,
        kind="scene",
        result=scene_draft().model_dump_json(),
    )
    history.append(key, SHOW, [turn])
    history.close()
    monkeypatch.setenv("WR_DATA_DIR", str(home))
    monkeypatch.setenv("WR_DEFAULT_SHOW", SHOW)

    def forbidden(*_: object, **__: object) -> None:
        raise AssertionError("export must not load a model or open the bible")

    from bot import compose

    for name in ("build_app", "open_engine", "open_bible", "open_embedder"):
        monkeypatch.setattr(compose, name, forbidden)
    return home


def test_cli_export_writes_the_file_and_says_what_it_is(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.settings import Settings as S

    assert S().history_path == data_dir / "room.sqlite3"  # the fixture's store is the CLI's
    target = tmp_path / "out" / "scene.fdx"
    target.parent.mkdir()
    assert cli.main(["export", "--what", "scene", "--format", "fdx", "-o", str(target)]) == 0
    assert target.read_bytes() == write_fdx(scene_script(scene_draft()))
    err = capsys.readouterr().err
    assert "Exported the thread's scene" in err and str(target) in err
    assert [p.name for p in target.parent.iterdir()] == ["scene.fdx"]  # no temporary left

    assert cli.main(["export", "-o", str(target)]) == 0  # newest, as Fountain
    assert target.read_bytes() == write_fountain(scene_script(scene_draft())).encode()


def test_cli_export_exit_codes(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["export", "--what", "shots"]) == 1
    assert "There is no shot list in this thread to export" in capsys.readouterr().err
    assert cli.main(["export", "--thread", "elsewhere"]) == 1
    assert "Thread 'elsewhere' of lantern-line: There is nothing" in capsys.readouterr().err
    assert cli.main(["export", "--what", "scene", "--format", "csv"]) == 2
    assert "cannot be exported as csv" in capsys.readouterr().err
    assert cli.main(["export", "--format", "csv"]) == 2  # the newest is a scene
    with pytest.raises(SystemExit) as usage:
        cli.main(["export", "--format", "pdf"])
    assert usage.value.code == 2
    assert "invalid choice: 'pdf'" in capsys.readouterr().err
    assert sorted(WHATS) == sorted(("beats", "wrap", "scene", "shots")) and "fdx" in FORMATS


def test_cli_export_writes_fdx_bytes_to_stdout(data_dir: Path) -> None:
    env = {**os.environ, "WR_DATA_DIR": str(data_dir), "WR_DEFAULT_SHOW": SHOW}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "export", "--format", "fdx", "-o", "-"],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == write_fdx(scene_script(scene_draft()))
    assert b"Exported the thread's scene" in done.stderr


def test_cli_export_finds_a_chat_thread_by_its_link_form(data_dir: Path, tmp_path: Path) -> None:
    history = HistoryStore(data_dir / "room.sqlite3")
    key = ConversationKey("slack", "T1", "C1", "700.1")
    turn = Turn(
        "assistant", "bot", "shots", "shots", 2, kind="shots", result=shot_list().model_dump_json()
    )
    history.append(key, SHOW, [turn])
    history.close()
    ledger = Ledger(data_dir / "ledger.sqlite3")
    bs = ledger.log.open_brainstorm(
        ConversationKey("discord", "900", "901", "555"),
        SHOW,
        "Fog",
        Actor("dana", "dana"),
        link="https://discord.com/channels/900/555",
    )
    ledger.log.add_wrap(bs, Actor("dana", "dana"), "wrap", wrap_up().model_dump(exclude={"wrap"}))
    ledger.close()
    target = tmp_path / "shots.csv"
    assert cli.main(["export", "--thread", "slack:C1/700.1", "-o", str(target)]) == 0
    assert target.read_bytes() == as_csv(shot_list())
    assert (
        cli.main(
            [
                "export",
                "--thread",
                "https://discord.com/channels/900/555",
                "--format",
                "md",
                "-o",
                str(target),
            ]
        )
        == 0
    )
    assert target.read_text().startswith("# What the fog bell means\n")
