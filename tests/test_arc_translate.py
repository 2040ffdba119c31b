"""The writing desk, part two: `arc` (an emotional arc with a PNG and a text chart) and
`translate` (screenplay form and the bible's names kept by code) on the real bundled model,
and their bad input refused with a message and nothing written."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import matplotlib.image
import pytest

from agents.arc_chart import HEIGHT_PX, LABEL_CHARS, WIDTH_PX, labels, png, text_chart
from agents.commands.arc import EMOTIONS, EmotionalArc
from agents.commands.translate import (
    SUPPORTED,
    Translation,
    Unit,
    build_lines,
    glossary_for,
    screenplay_lines,
)
from agents.messages import Reply
from bot.compose import App
from memory.lexical import Entity
from tests.conftest import SHOW, ask, assert_clean, history_turns, message, run
from tests.discord_fake import CHANNEL, bot_maker, discord_harness, interaction_payload
from tests.slack_fake import mention, room_maker, slack_harness

DESK_BITS = ("quoted material", "⟦")  # the arc and translate prompts; no name token
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EP104 = "[episodes/ep104_undertow.md > 104 — Undertow > {}]"
SCENE = """INT. THE LANTERN - WHEELHOUSE - NIGHT

Maren finds Toby's phone under the chart table.

MAREN
(quietly)
Calder said it was an accident.

JUN
Then who is L?

EXT. DROWNED QUAY - DAWN

Nell waits for Maren on the quay."""


def said(app: App, text: str, thread: str = "desk2") -> tuple[Reply, list[str]]:
    return run(ask(app, message(text, thread=thread)))


def chart_rows(text: str) -> list[str]:
    block = text.split("```")[1]
    return [row for row in block.splitlines() if row.strip()]


# ---- pure parts -----------------------------------------------------------------------------
def test_the_text_chart_has_one_row_per_beat_with_bars_either_side() -> None:
    chart = text_chart(["Summary 1", "Aftermath"], [-0.5, 1.0], ["fear", "joy"])
    left, right = chart.splitlines()
    assert left.startswith("1. Summary 1") and right.startswith("2. Aftermath")
    assert "█████│ " in left and left.endswith("-0.50 fear")
    assert "│██████████ +1.00 joy" in right


def test_long_beat_names_keep_their_ends_and_their_numbers() -> None:
    night, dawn = "INT. THE LANTERN - WHEELHOUSE - NIGHT", "INT. THE LANTERN - WHEELHOUSE - DAWN"
    long_two = "EXT. GULLSTONE LIGHTHOUSE - GALLERY - CONTINUOUS (2)"
    shown = labels([night, dawn, long_two])
    assert len(set(shown)) == 3
    assert shown[0].startswith("1. ") and shown[0].endswith("- NIGHT")
    assert shown[1].startswith("2. ") and shown[1].endswith("- DAWN")
    assert shown[2].endswith("(2)") and "…" in shown[2]
    assert all(len(label) <= len("3. ") + LABEL_CHARS for label in shown)
    rows = text_chart([night, dawn], [0.2, -0.2], ["calm", "fear"]).splitlines()
    assert "NIGHT" in rows[0] and "DAWN" in rows[1] and rows[0][:20] != rows[1][:20]


def test_dollar_signs_in_beats_are_drawn_as_written_not_as_mathtext() -> None:
    """'$x^$' is bad mathtext (it raised ValueError after the model ran); "$5 or $10" lost
    its '$'. Neither is parsed now: the PNG is drawn."""
    names = ["Toby_s $x^$ ok", "$5 or $10", "INT. THE LANTERN - WHEELHOUSE - NIGHT"]
    data = png(
        "Arc of $x^$",
        names,
        [0.1, -0.4, 0.9],
        {"Toby $x^$": [0.2, None, -0.1]},
        ["fear $x^$", "joy", "$"],
    )
    assert data.startswith(PNG_SIGNATURE)
    image = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert image.shape[:2] == (HEIGHT_PX, WIDTH_PX)


def _unit(masked: str) -> Unit:
    return Unit(0, "", masked, "", tuple(re.findall(r"⟦\d+⟧", masked)))


def test_a_long_line_has_room_for_its_whole_translation_and_a_cut_one_is_refused() -> None:
    line = (
        "⟦1⟧ hauls the mooring line across the deck while the fog bell rings three times "
        "from the quay, and she counts the seconds between each ring the way her father "
        "taught her, because the channel markers are out again and the Lantern has no "
        "radar worth the name tonight, and nobody on the quay is answering the radio."
    )
    assert len(line) > 260
    unit = _unit(line)
    faithful = "⟦1⟧ " + "x" * 300 + " fin."  # a translation longer than the old 240 cap
    assert unit.bound > len(faithful)
    assert build_lines([unit], {"lines": [faithful]}).lines == [faithful]
    cut_at_bound = "⟦1⟧ " + "y" * unit.bound
    marked = build_lines([unit], {"lines": [cut_at_bound]})  # kept, but never silently
    assert marked.cut == [0] and marked.lines[0].endswith("[cut off: check this line]")
    with pytest.raises(ValueError, match="lost a name"):
        build_lines([unit], {"lines": ["tire l'amarre sur le pont"]})
    # a line without a stop of its own (a parenthetical) needs none
    assert build_lines([_unit("quietly")], {"lines": ["doucement"]}).lines == ["doucement"]


class _Bible:
    def __init__(self, *entities: Entity) -> None:
        self._entities = entities

    def entities(self, show: str, entry_type: str | None, as_of: object) -> list[Entity]:
        return list(self._entities)


def test_the_glossary_protects_single_names_never_phrases_or_titles() -> None:
    bible = _Bible(
        Entity("Maren Kessler", "character", "c/m.md", ("Maren", "the captain")),
        Entity("Jun Park", "character", "c/j.md", ("Jun", "Dr. Park")),
        Entity("Maren and Jun", "arc", "a/mj.md", ()),
        Entity("The Bridge", "arc", "a/b.md", ("Northwake Consortium",)),
        Entity("Ballast", "episode", "e/105.md", ()),
        Entity("The Anchor & Ash", "location", "p/a.md", ("Anchor and Ash", "the Anchor")),
        Entity("The fog bell rule", "rule", "r/f.md", ("fog bell",)),
    )
    call = SimpleNamespace(services=SimpleNamespace(bible=bible), show="s", as_of=None)
    text = (
        "Maren and Jun share a look. Ballast creaks. The Bridge looms. Dr. Park waves. "
        "MAREN waits at The Anchor & Ash, not at Anchor and Ash, as the fog bell rings."
    )
    glossary = glossary_for(call, text)  # type: ignore[arg-type]
    assert {g.term for g in glossary.terms} == {
        "Maren",
        "Jun",
        "Dr. Park",
        "MAREN",
        "The Anchor & Ash",
    }
    masked, _ = glossary.mask(text)
    assert masked.startswith("⟦1⟧ and ⟦2⟧ share a look. Ballast creaks. The Bridge looms.")
    assert "Anchor and Ash" in masked and "fog bell" in masked
    assert glossary.unmask(masked) == text


def test_screenplay_lines_keep_headings_cues_and_transitions_apart() -> None:
    kinds = [(ln.kind, ln.text) for ln in screenplay_lines(SCENE + "\n\nCUT TO:")]
    assert kinds[0] == ("heading", "INT. THE LANTERN - WHEELHOUSE - NIGHT")
    assert ("cue", "MAREN") in kinds and ("cue", "JUN") in kinds
    assert ("parenthetical", "(quietly)") in kinds
    assert ("dialogue", "Calder said it was an accident.") in kinds
    assert ("heading", "EXT. DROWNED QUAY - DAWN") in kinds
    assert kinds[-1] == ("kept", "CUT TO:")


# ---- arc on the real model ------------------------------------------------------------------
def test_arc_of_episode_4_uses_its_own_beats_and_draws_a_png(app: App) -> None:
    reply, _ = said(app, "/arc S1E04")
    assert reply.kind == "arc", reply.text
    arc = EmotionalArc.model_validate(reply.data)
    names = [b.name for b in arc.beats]
    assert names == [f"Summary {i}" for i in range(1, 5)] + ["Aftermath 1", "Aftermath 2"]
    assert all(-1 <= b.valence <= 1 and b.emotion in EMOTIONS for b in arc.beats)
    characters = {e.name for e in app.bible.entities(SHOW, "character")}
    assert all(set(b.characters) <= characters for b in arc.beats)
    assert "Tobias Vell" in arc.beats[0].characters  # named in the beat: code puts them in
    labels = {EP104.format("Summary"), EP104.format("Aftermath")}
    assert {c.label for c in arc.sources} == labels
    rows = chart_rows(reply.text)
    assert len(rows) == len(arc.beats) and all("│" in row for row in rows)
    [png] = reply.files
    assert png.mime == "image/png" and png.name == "arc-104-undertow.png"
    assert png.data.startswith(PNG_SIGNATURE)
    image = matplotlib.image.imread(io.BytesIO(png.data), format="png")
    assert image.shape[:2] == (HEIGHT_PX, WIDTH_PX)
    assert_clean(reply, labels, DESK_BITS)


def test_discord_arc_with_character_lines_attaches_the_png(app: App) -> None:
    async def go():  # type: ignore[no-untyped-def]
        async with discord_harness(bot_maker(app.room)) as h:
            option = [{"name": "target", "type": 3, "value": "Undertow characters"}]
            h.interaction(interaction_payload("arc", option))
            await h.wait_for(lambda: h.bot.replies_sent >= 1, timeout=300)
            return h

    h = run(go())
    files = h.fake.files_in(str(CHANNEL))
    assert [f.filename for f in files] == ["arc-104-undertow.png"]
    assert files[0].data.startswith(PNG_SIGNATURE)
    posted = [b["content"] for b in h.fake.named("POST", rf"^/channels/{CHANNEL}/messages$")]
    assert any("Emotional arc" in text and "```" in text for text in posted if text)


def test_slack_arc_uploads_the_png_into_the_thread(app: App) -> None:
    async def go():  # type: ignore[no-untyped-def]
        async with slack_harness(room_maker(app.room)) as h:
            assert await h.event(mention("/arc S1E03", "961.1"), "EvArc1") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1, timeout=300)
            return h

    h = run(go())
    pngs = [u for u in h.fake.files() if u.filename.endswith(".png")]
    assert [(u.filename, u.thread_ts) for u in pngs] == [("arc-103-fog-bell.png", "961.1")]
    assert (pngs[0].data or b"").startswith(PNG_SIGNATURE)
    assert any("Emotional arc" in text for text in h.fake.shown_in("961.1"))


def test_slack_translate_in_a_thread_streams_progress_and_keeps_the_names(app: App) -> None:
    """Through the Slack fake: the translation arrives in the thread, its names as the bible
    spells them; a long one's .fountain file is uploaded there (a short one's text is shown)."""

    async def go():  # type: ignore[no-untyped-def]
        async with slack_harness(room_maker(app.room)) as h:
            assert await h.event(mention(f"/translate es {SCENE}", "960.1"), "EvTr1") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1, timeout=300)
            return h

    h = run(go())
    shown = "\n".join(h.fake.shown_in("960.1"))
    uploads = [u for u in h.fake.files() if u.filename.endswith(".fountain")]
    # Only the translated screenplay counts: the fenced block or the uploaded file, never
    # the reply's own "Names kept as the bible spells them: …" line.
    blocks = shown.split("```")[1::2]
    translated = "\n".join([*blocks, *((u.data or b"").decode() for u in uploads)])
    assert "Names kept" not in translated
    for name in ("Maren", "Toby", "Calder", "Nell"):
        assert name in translated, translated
    assert all(u.thread_ts == "960.1" for u in uploads)
    assert "Nothing was saved" not in shown and "<!" not in shown


# ---- translate on the real model ------------------------------------------------------------
def test_translate_keeps_names_cues_and_headings_and_shows_progress(app: App) -> None:
    reply, pieces = said(app, f"/translate fr {SCENE}")
    assert reply.kind == "translate", reply.text
    t = Translation.model_validate(reply.data)
    assert t.code == "fr" and t.language == "French"
    assert {g.term for g in t.glossary} == {"Maren", "Toby", "Calder", "Nell"}
    source, out = screenplay_lines(SCENE), screenplay_lines(t.fountain)
    assert len(out) == len(source)
    for before, after in zip(source, out, strict=True):
        if before.kind in ("heading", "cue", "blank"):
            assert after.text == before.text
        if before.kind == "parenthetical":
            assert after.text.startswith("(") and after.text.endswith(")")
        for term in (
            "Maren",
            "Toby",
            "Calder",
            "Nell",
        ):  # each name, in place, as the bible spells it
            assert after.text.count(term) == before.text.count(term), (term, after.text)
    assert "⟦" not in t.fountain
    assert any("Translated 1 of" in p for p in pieces)
    [file] = reply.files
    assert file.name.endswith(".fountain") and file.data.decode() == t.fountain
    assert t.fountain in reply.text.replace("\u02cb", "`") + "\n"
    assert_clean(reply, set(), DESK_BITS)


# ---- bad input: a message, and nothing written ------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/arc", "'arc' needs TARGET"),
        ("/arc S1E09", "has no episode S1E09. Its episodes: S1E01 Night Crossing"),
        ("/arc banana split", "is not an episode this bible knows"),
        ("/arc " + " ".join(f"Maren waits {i}." for i in range(20)), "an arc chart takes at most"),
        ("/translate", "'translate' needs LANGUAGE"),
        ("/translate klingon Maren waits.", f"The languages are: {SUPPORTED}"),
        ("/translate fr", "There is no scene in this thread to translate"),
        ("/translate de INT. QUAY - NIGHT\n\nCUT TO:", "has no dialogue or action to translate"),
    ],
)
def test_bad_input_is_refused_with_its_message_and_nothing_is_written(
    app: App, text: str, expected: str
) -> None:
    before = history_turns(app, "bad2")
    reply, _ = said(app, text, thread="bad2")
    assert reply.kind == "error" and expected in reply.text, reply.text
    assert "Traceback" not in reply.text and not reply.files
    assert history_turns(app, "bad2") == before


def test_help_lists_the_languages_and_examples(app: App) -> None:
    reply, _ = said(app, "/help translate")
    for name in ("English", "Simplified Chinese", "Spanish", "French", "German", "Japanese"):
        assert name in reply.text
    assert "example:" in reply.text
    reply, _ = said(app, "/help arc")
    assert "example: /arc S1E04" in reply.text
