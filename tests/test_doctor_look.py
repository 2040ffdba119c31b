"""The writing desk, part two: `doctor` (corrections proposed by code against the bible)
and `look` (a character's look, the bible's facts cited and the rest marked as
suggestions) on the real bundled model, real Chroma and the sample show; bad input refused
with its message and nothing written to the thread."""

from __future__ import annotations

import pytest

from agents.commands.doctor import DoctorReport, distance, heading_fix
from agents.commands.look import NEGATIVE, Look
from agents.commands.scene import SceneDraft
from agents.messages import Inbound, Reply
from bot.compose import App
from tests.conftest import (
    INSTRUCTION_BITS,
    LABEL,
    SHOW,
    ask,
    assert_clean,
    history_turns,
    message,
    run,
)
from tests.discord_fake import BOT, CHANNEL, bot_maker, discord_harness, message_payload
from tests.slack_fake import mention, room_maker, slack_harness

LOOK_BITS = ("quoted data", 'give "none"')  # the look prompt
MAREN_FILE = "characters/maren_kessler.md"

PLANTED = """INT WHEELHOUSE NIGHT

Marren grips the wheel. Fog presses on the glass.

CALDERR
(quietly)
You knew about the crates.

MAREN
That's on me.

Delfine steps in from the car deck with a thermos.
"""

CLEAN = """INT. THE LANTERN - WHEELHOUSE - NIGHT

Maren grips the wheel. Jun Park watches the radar.

JUN
The fog bell stopped.

MAREN
Then we listen harder.

EXT. DROWNED QUAY - DAWN

Calder walks the causeway alone. Delphine waits by the bollards.
"""


def said(app: App, text: str, thread: str = "doc") -> Reply:
    return run(ask(app, message(text, thread=thread)))[0]


# ---- pure parts ----------------------------------------------------------------------------
def test_distance_and_headings() -> None:
    assert distance("marren", "maren") == 1 and distance("marne", "maren") == 1
    assert distance("delfine", "delphine") == 2 and distance("calderr", "calder") == 1
    assert heading_fix("INT WHEELHOUSE NIGHT") == (
        "scene heading: 'INT' should read 'INT.'; no ' - ' before the time",
        "INT. WHEELHOUSE - NIGHT",
    )
    assert heading_fix("INT. WHEELHOUSE, NIGHT")[1] == "INT. WHEELHOUSE - NIGHT"  # type: ignore[index]
    assert heading_fix("WHEELHOUSE - NIGHT")[1].startswith("INT. WHEELHOUSE - NIGHT")  # type: ignore[index]
    assert "no time of day" in heading_fix("EXT. QUAY")[0]  # type: ignore[index]
    for good in ("INT. WHEELHOUSE - NIGHT", "INT./EXT. THE LANTERN - CAR DECK - DAWN", ".DECK"):
        assert heading_fix(good) is None, good


def test_headings_take_en_and_em_dashes_and_est() -> None:
    for good in (
        "INT. LIGHTHOUSE – NIGHT",
        "INT. LIGHTHOUSE — NIGHT",
        "INT./EXT. THE LANTERN – CAR DECK — DAWN",
        "EST. GULLSTONE LIGHTHOUSE - DUSK",
        "EST. DROWNED QUAY – DAWN",
    ):
        assert heading_fix(good) is None, good
    assert heading_fix("EST GULLSTONE - DUSK") == (
        "scene heading: 'EST' should read 'EST.'",
        "EST. GULLSTONE - DUSK",
    )
    assert heading_fix("INT. LIGHTHOUSE -- NIGHT")[1] == "INT. LIGHTHOUSE - NIGHT"  # type: ignore[index]


# ---- doctor (no model) -----------------------------------------------------------------------
def test_doctor_finds_planted_misspellings_and_a_malformed_heading(app: App) -> None:
    before = history_turns(app, "doc")
    reply = said(app, "/doctor " + PLANTED)
    assert reply.kind == "doctor", reply.text
    report = DoctorReport.model_validate(reply.data)
    found = {(p.line_number, p.kind, p.suggestion) for p in report.proposals}
    assert found == {
        (1, "heading", "INT. WHEELHOUSE - NIGHT"),
        (3, "name", "Maren"),
        (5, "cue", "CALDER"),
        (12, "name", "Delphine"),
    }, report.proposals
    lines = PLANTED.splitlines()
    by_line = {p.line_number: p for p in report.proposals}
    for p in report.proposals:
        assert p.line == lines[p.line_number - 1].strip()
    assert by_line[3].citation and by_line[3].citation.file == MAREN_FILE
    assert by_line[5].citation and by_line[5].citation.file == "characters/rhys_calder.md"
    assert by_line[12].citation and by_line[12].citation.file == "characters/delphine_roux.md"
    assert by_line[1].citation is None
    assert "1. line 1: “INT WHEELHOUSE NIGHT” — scene heading:" in reply.text
    assert "Suggest: Maren  [characters/maren_kessler.md > Maren Kessler > Who she is]" in (
        reply.text
    )
    assert "nothing was changed" in reply.text
    assert_clean(reply, {c.label for c in reply.citations}, LOOK_BITS)
    assert history_turns(app, "doc") == before + 2  # the ask and the reply


def test_doctor_proposes_nothing_for_a_clean_scene_and_flags_cue_problems(app: App) -> None:
    reply = said(app, "/doctor " + CLEAN)
    report = DoctorReport.model_validate(reply.data)
    assert report.proposals == [], report.proposals
    assert "No corrections proposed." in reply.text and "Checked: names" in reply.text
    assert "Suggest" not in reply.text and not LABEL.findall(reply.text)

    mixed = (
        "EXT. GULSTONE LIGHTHOUSE - DUSK\n\nTOBIAS\nMind the step.\n\nTOBY\nCap?\n\n"
        "MARNE\nInside.\n\nQUENTIN\nWho's there?\n\nQuentn ducks behind the wall.\n"
    )
    report = DoctorReport.model_validate(said(app, "/doctor " + mixed).data)
    found = {(p.line_number, p.kind, p.suggestion) for p in report.proposals}
    assert (1, "place", "GULLSTONE LIGHTHOUSE") in found, report.proposals
    assert (6, "cue", "TOBY") not in found and any(
        p.kind == "cue" and p.line_number == 3 and p.suggestion == "TOBY" for p in report.proposals
    )
    assert (9, "cue", "MAREN") in found
    assert not any(p.line_number == 12 for p in report.proposals)  # a new character's cue
    assert (15, "name", "Quentin") in found


ORDINARY = """EXT. DROWNED QUAY – DAWN

Calmer seas ahead. Quilt on the bunk. Parka zipped.

Lanterns swing. Anchors drop. Quays glisten in the fog.

Kesslers have always fished here; the Kesslers' boat is moored past the Quays.

MAREN
Calmer now. Quilt's dry? The Lanterns are lit.

FERRYMAN
Last crossing.

BARMAN
Same again?

PARAMEDIC
Breathe.

FISHERMAN
Nets are up.

COASTGUARD
Stand off the rocks.

EST. GULLSTONE LIGHTHOUSE - DUSK

Fog rolls in.
"""


def test_doctor_leaves_ordinary_words_and_role_cues_alone(app: App) -> None:
    reply = said(app, "/doctor " + ORDINARY, thread="plain")
    report = DoctorReport.model_validate(reply.data)
    assert report.proposals == [], report.proposals
    assert "No corrections proposed." in reply.text
    for wrong in ("Calder", "Quill", "Park", "names no character"):
        assert wrong not in reply.text, reply.text


def test_doctor_flags_a_cue_near_a_bible_name_and_not_a_new_one(app: App) -> None:
    text = (
        "INT. WHEELHOUSE - NIGHT\n\nMAREN KESLER\nHold on.\n\nHARBOURMASTER\nTide's up.\n\n"
        "MAREN K\nGo.\n"
    )
    report = DoctorReport.model_validate(said(app, "/doctor " + text, thread="cues").data)
    assert {p.line_number for p in report.proposals} == {3, 9}, report.proposals
    by_line = {p.line_number: p for p in report.proposals}
    assert by_line[3].suggestion == "KESSLER"
    assert by_line[9].suggestion.startswith("MAREN") and "Maren Kessler is near" in (
        by_line[9].issue
    )
    assert "HARBOURMASTER" not in " ".join(p.issue for p in report.proposals)


def test_doctor_reads_an_attached_file_past_the_message_limit(app: App) -> None:
    line = "Maren checks the ropes on the car deck, one after the other, slowly."
    body = "INT. THE LANTERN - CAR DECK - NIGHT\n\n" + "\n".join(line for _ in range(200))
    limit = app.room.services.config.max_message_chars
    assert len(body) > limit  # longer than a message may be
    scene = Inbound(name="long.fountain", mime="", size=len(body), data=body.encode())
    event = message("/doctor", thread="long").model_copy(update={"files": [scene]})
    reply = run(ask(app, event))[0]
    assert reply.kind == "doctor", reply.text
    assert DoctorReport.model_validate(reply.data).lines == 202

    upload = app.room.services.config.max_upload_bytes
    too_long = "\n".join(line for _ in range(301))
    scene = Inbound(name="long.fountain", mime="", size=len(too_long), data=too_long.encode())
    event = message("/doctor", thread="long2").model_copy(update={"files": [scene]})
    reply = run(ask(app, event))[0]
    assert reply.kind == "error", reply.text
    assert f"at most 300 lines and {upload:,} bytes (the upload limit)" in reply.text
    assert f"{limit:,} characters" not in reply.text


def test_doctor_turns_continuity_flags_into_proposals(app: App) -> None:
    text = "INT. ANCHOR & ASH - NIGHT\n\nIn episode 6 Toby sings a shanty at the bar.\n"
    report = DoctorReport.model_validate(said(app, "/doctor " + text).data)
    flags = [p for p in report.proposals if p.kind == "continuity"]
    assert flags and all(p.line_number == 3 and p.citation for p in flags), report.proposals
    assert all(p.citation and p.citation.file == "characters/toby_vell.md" for p in flags)


def test_doctor_checks_the_threads_scene(app: App) -> None:
    reply = said(app, "/scene Maren finds Toby's phone in the wheelhouse with Maren, Jun", "th")
    assert reply.kind == "scene", reply.text
    draft = SceneDraft.model_validate(reply.data)
    reply = said(app, "/doctor", "th")
    assert reply.kind == "doctor", reply.text
    report = DoctorReport.model_validate(reply.data)
    assert report.source == f"the thread's scene ({draft.heading.line})"
    lines = draft.fountain.splitlines()
    assert report.lines == len(lines)
    for p in report.proposals:
        assert p.line == lines[p.line_number - 1].strip()
    # code wrote the heading and the cues: none of them is a proposal
    assert not [p for p in report.proposals if p.kind in ("heading", "cue")], report.proposals
    assert_clean(reply, {c.label for c in reply.citations}, LOOK_BITS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/doctor", "There is no scene in this thread to check"),
        ("/doctor ...", "There are no words in that text to check"),
        ("/doctor " + "\n".join("Maren waits." for _ in range(301)), "doctor reads at most 300"),
        ("/look Marjorie", "'Marjorie' is not a character in the lantern-line bible."),
        ("/look Drowned Quay", "'Drowned Quay' is a location, not a character"),
    ],
)
def test_bad_input_gets_a_message_and_nothing_is_written(
    app: App, text: str, expected: str
) -> None:
    before = history_turns(app, "bad")
    reply = said(app, text, thread="bad")
    assert reply.kind == "error" and expected in reply.text, reply.text
    assert "Nothing was saved" in reply.text and "Traceback" not in reply.text
    assert history_turns(app, "bad") == before


def test_an_unknown_name_offers_the_nearest(app: App) -> None:
    reply = said(app, "/look Marren", thread="bad")
    assert reply.kind == "error" and "Nearest names: Maren Kessler" in reply.text, reply.text


# ---- look (the real model) ---------------------------------------------------------------------
def test_look_cites_the_bible_and_marks_suggestions(app: App) -> None:
    reply = said(app, "/look Maren", thread="look")
    assert reply.kind == "look", reply.text
    look = Look.model_validate(reply.data)
    assert look.name == "Maren Kessler" and look.role == "protagonist"
    age = look.get("age")
    assert (age.text, age.from_bible, age.front_matter) == ("44", True, True)
    assert age.source and age.source.file == MAREN_FILE
    maren = {c.citation for c in app.bible.lookup(SHOW, "Maren", "character")[1]}  # type: ignore[index]
    maren.add(f"[{MAREN_FILE} > Maren Kessler]")
    for f in look.fields:
        assert f.from_bible == (f.source is not None)
        if f.source is not None:
            assert f.source.label in maren and f.source.file == MAREN_FILE
    assert {c.label for c in look.sources} <= maren
    assert "Age: 44 (from the bible's front matter) [characters/maren_kessler.md > Maren " in (
        reply.text
    )
    for f in look.fields:
        if not f.from_bible:
            assert f"{f.text} (suggestion: the bible is silent)" in reply.text
    assert "Maren Kessler" in look.image_prompt and "44 years old" in look.image_prompt
    assert "protagonist" not in look.image_prompt  # a story role, not something to draw
    for part in ("Subject:", "Wardrobe:", "Lighting:", "Lens:", "Mood:"):
        assert part in look.image_prompt
    for bit in (*INSTRUCTION_BITS, "JSON", "excerpt", "source", "\n"):
        assert bit not in look.image_prompt, bit
    assert look.negative_prompt == NEGATIVE and "no image is generated" in reply.text
    assert_clean(reply, maren, LOOK_BITS)


# ---- an attached .fountain file, through the Slack and Discord fakes ---------------------------
def test_doctor_reads_an_attached_fountain_file_in_slack_and_discord(app: App) -> None:
    """'@bot /doctor' with a .fountain file: the file's text is what is doctored."""

    async def in_slack():  # type: ignore[no-untyped-def]
        async with slack_harness(room_maker(app.room)) as h:
            shared = h.fake.share("scene.fountain", PLANTED.encode("utf-16"))
            event = {**mention("/doctor", "900.1"), "files": [shared]}
            assert await h.event(event, "EvDoc1") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1)
            return h.fake.shown_in("900.1")

    async def in_discord():  # type: ignore[no-untyped-def]
        async with discord_harness(bot_maker(app.room)) as h:
            scene = h.fake.attach("scene.fountain", PLANTED.encode())
            h.message(
                message_payload(
                    CHANNEL, 555, f"<@{BOT}> /doctor", mentions=[BOT], attachments=[scene]
                )
            )
            await h.wait_for(lambda: h.bot.replies_sent >= 1)
            return [b.get("content") or "" for _, _, b in h.fake.calls]

    for shown in (run(in_slack()), run(in_discord())):
        said = "\n".join(shown)
        for suggestion in ("INT. WHEELHOUSE - NIGHT", "Suggest: Maren", "CALDER", "Delphine"):
            assert suggestion in said, said
        assert "needs TEXT" not in said and "Nothing was saved" not in said


def test_look_counts_a_field_as_canon_only_when_its_section_says_it(app: App) -> None:
    """An invented detail that shares only 'with', 'from' or the name with a section is a
    suggestion, not the bible's."""
    from agents.commands.look import supported_by

    found = app.bible.lookup(SHOW, "Maren", "character")
    assert found is not None
    who = next(c for c in found[1] if c.heading.endswith("Who she is"))
    names = frozenset({"maren", "kessler", "mare"})
    invented = "Tattoo of a swallow on her wrist from her navy years"
    assert not supported_by(invented, who, names)
    assert not supported_by("Maren Kessler with a stubborn look", who, names)
    assert supported_by("Widowed captain of the Lantern, stubborn and funny when tired", who, names)
