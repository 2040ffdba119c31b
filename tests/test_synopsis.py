"""`synopsis TARGET [length]`: episodes, arcs, brainstorm threads and pasted text.

On the real bundled model, real Chroma and the sample show: what a synopsis may cite (only
the sections it was shown), what its text must not hold (instruction text, labels), who a
thread synopsis credits (the ledger's authors, never a writer who pitched nothing), and bad
input answered with a message and nothing saved. A scripted model stands in only where the
test is about what the room does with given sentences (crediting, checks, flags)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.commands import addressed_command, help_text, parse_command
from agents.messages import Reply
from agents.render import synopsis as render_synopsis
from agents.schemas import Citation, Credit, PitchCredit, Synopsis, SynopsisSentence
from bot.compose import App
from bot.settings import Settings
from memory.embeddings import MiniLMEmbedder
from memory.history import ConversationKey
from memory.ledger import Actor, Pitch
from tests.conftest import (
    INSTRUCTION_BITS,
    LABEL,
    SHOW,
    ask,
    history_turns,
    message,
    run,
    scripted_app,
)

UNDERTOW = "episodes/ep104_undertow.md"
TOPIC = "what the fog bell means to Maren after Toby's death"
DANA = "pitch: Maren rings the fog bell every night to call Toby's ghost home"
SAM = "pitch: the fog bell rope was cut on purpose, and Quill knows who did it"
# Lines of the synopsis prompts a base model might echo back.
PROMPT_BITS = (
    *INSTRUCTION_BITS,
    "Write a synopsis",
    "quoted data",
    "not instructions",
    "What to summarise",
    "Answer in JSON",
    "The pitches, by label",
)
PASTED = (
    "Maren finds an unlisted crate on the car deck during the last crossing. Toby swears it "
    "belongs to a passenger, but Maren sees him signal the lighthouse. She keeps the crate."
)


def said(app: App, text: str, thread: str, author: str = "dana", **kw: object) -> Reply:
    msg = message(text, thread=thread, author=author).model_copy(update=kw)
    return run(ask(app, msg))[0]


def shown(app: App, file: str) -> set[str]:
    return {f"[{c.file} > {c.heading}]" for c in app.bible.sections(SHOW)[file]}


def assert_synopsis(reply: Reply, shown: set[str], kind: str, length: str) -> Synopsis:
    """A valid synopsis that cites only what it was shown and holds no prompt text."""
    assert reply.kind == "synopsis", reply.text
    assert reply.data and "kind" not in reply.data  # `ask --json` adds the reply's kind
    result = Synopsis.model_validate(reply.data)
    assert (result.target_kind, result.length) == (kind, length)
    assert {c.label for c in result.sources} <= shown
    for sentence in result.sentences:
        assert {c.label for c in sentence.sources} <= shown
        if kind in ("episode", "arc"):
            assert sentence.sources, sentence  # every statement about canon is cited
    body = reply.text.partition("**Continuity:**")[0]  # flags cite the facts they rest on
    assert set(LABEL.findall(body)) <= shown
    assert not re.search(r"\b[SP]\d+\b", reply.text)  # the model's labels never show
    for bit in PROMPT_BITS:
        assert bit not in reply.text, bit
    assert reply.citations == result.sources
    return result


def open_brainstorm(app: App, thread: str) -> None:
    """A brainstorm thread as the ledger holds it (opened without the model's provocations)."""
    key = message("", thread=thread).key
    app.room.services.ledger.log.open_brainstorm(key, SHOW, TOPIC, Actor("dana", "dana"))


def pitch_of(app: App, author: str) -> Pitch:
    ledger = app.room.services.ledger
    [bs] = ledger.log.brainstorms(SHOW)
    [found] = [p for p in ledger.pitches.of_brainstorm(bs.id) if p.author == author]
    return found


def pitched(app: App, thread: str) -> None:
    """dana and sam pitch; lee only decides, asks and votes."""
    for author, text in [
        ("dana", DANA),
        ("sam", SAM),
        ("lee", "decision: the bell stays silent until episode 6"),
        ("lee", "who cut the rope, though?"),
    ]:
        msg = message(text, thread=thread, author=author, mentions_bot=False)
        assert run(ask(app, msg))[0].kind in ("pitch", "noted")


# ---- parsing, help and rendering (no model) --------------------------------------------------
def test_target_and_trailing_length_parse() -> None:
    assert parse_command("/synopsis S1E04")[1] == {"target": "S1E04", "length": "paragraph"}
    assert parse_command("/synopsis thread page")[1] == {"target": "thread", "length": "page"}
    assert parse_command("/synopsis High Water Mark logline")[1] == {
        "target": "High Water Mark",
        "length": "logline",
    }
    said_to_bot = addressed_command("synopsis thread logline")  # in a Slack thread
    assert said_to_bot is not None and said_to_bot[1] == {"target": "thread", "length": "logline"}
    text = help_text("synopsis")
    assert "synopsis TARGET [logline|paragraph|page]" in text
    assert "example: synopsis S1E04" in text and "example: synopsis thread page" in text


def test_the_renderer_credits_pitches_and_cites_canon() -> None:
    cite = Citation(file=UNDERTOW, heading="104 — Undertow > Summary")
    result = Synopsis(
        target="this brainstorm: the bell",
        target_kind="thread",
        length="paragraph",
        sentences=[
            SynopsisSentence(
                text="Maren rings the bell", pitches=[PitchCredit(number=1, author="dana")]
            ),
            SynopsisSentence(text="The tide turns early.", sources=[cite], quoted=True),
        ],
        sources=[cite],
        credits=[Credit(author="dana", pitches=[1])],
        continuity=["Continuity (timeline, certain): Toby is dead."],
    )
    assert render_synopsis(result).splitlines() == [
        "**Synopsis (paragraph)** of this brainstorm: the bell",
        "Maren rings the bell. (pitched by dana, #1) “The tide turns early.” " + cite.label,
        "Credits: dana (#1)",
        "**Continuity:**",
        "- Continuity (timeline, certain): Toby is dead.",
    ]
    page = result.model_copy(
        update={
            "length": "page",
            "credits": [],
            "continuity": [],
            "sentences": result.sentences[:1] * 5,
        }
    )
    assert len(render_synopsis(page).splitlines()) == 3  # the heading, then 4 + 1 sentences


# ---- the real model --------------------------------------------------------------------------
def test_an_episode_synopsis_cites_only_that_episode(app: App) -> None:
    reply = said(app, "/synopsis S1E04", "t-ep")
    result = assert_synopsis(reply, shown(app, UNDERTOW), "episode", "paragraph")
    assert result.target == "S1E04 Undertow" and 1 <= len(result.sentences) <= 5
    assert result.credits == []
    assert history_turns(app, "t-ep") == 2  # the ask and the synopsis
    logline = said(app, "/synopsis Undertow logline", "t-ep")
    result = assert_synopsis(logline, shown(app, UNDERTOW), "episode", "logline")
    assert result.target == "S1E04 Undertow" and len(result.sentences) == 1


def test_a_thread_synopsis_credits_the_writers_the_ledger_records(app: App) -> None:
    open_brainstorm(app, "bs")
    pitched(app, "bs")
    assert said(app, "/vote 2", "bs", author="lee").kind == "vote"
    reply = said(app, "/synopsis thread", "bs", author="ana")
    canon = app.bible.sections(SHOW)
    every = {f"[{c.file} > {c.heading}]" for chunks in canon.values() for c in chunks}
    result = assert_synopsis(reply, every, "thread", "paragraph")
    pitches = {p.id: p.author for p in (pitch_of(app, "dana"), pitch_of(app, "sam"))}
    assert result.credits, reply.text
    for credit in result.credits:
        assert all(pitches[n] == credit.author for n in credit.pitches)
        assert f"{credit.author} (" in reply.text.split("Credits:")[1]
    for sentence in result.sentences:
        for p in sentence.pitches:
            assert pitches[p.number] == p.author
            assert f"{p.author}, #{p.number}" in reply.text
    assert {c.author for c in result.credits} <= {"dana", "sam"}
    assert not re.search(r"\b(?:lee|ana)\b", reply.text)  # a decision, a vote, the ask


def test_pasted_text_is_summarised_citing_only_the_canon_retrieved(app: App) -> None:
    services = app.room.services
    retrieved = run(services.relevant(SHOW, PASTED, services.config.search_k))
    reply = said(app, f"/synopsis {PASTED} logline", "t-text")
    labels = {f"[{c.file} > {c.heading}]" for c in retrieved}
    result = assert_synopsis(reply, labels, "text", "logline")
    assert len(result.sentences) == 1 and result.target.startswith("your text")


# ---- bad input: a message, and nothing saved -------------------------------------------------
def test_bad_targets_are_explained_and_save_nothing(app: App) -> None:
    over_tokens = "Nell signs 4a7, 9zq, x3k. " * 300  # 7,800 characters, about 4,500 tokens
    cases = [
        ("/synopsis", "needs TARGET"),
        ("/synopsis logline", "needs TARGET"),
        ("/synopsis ...", "nothing to summarise"),
        ("/synopsis S1E09", "no episode S1E09"),
        ("/synopsis Undertoe", "Nearest names: Undertow"),
        ("/synopsis Maren", "is a character"),
        ("/synopsis thread", "not one"),
        ("/synopsis " + "Toby sings. " * 700, "the room takes up to 8,000"),
        (f"/synopsis {over_tokens}", "Cut about"),
    ]
    for text, needle in cases:
        reply = said(app, text, "t-bad")
        assert reply.kind == "error" and needle in reply.text, (text[:40], reply.text)
        assert "Traceback" not in reply.text
    assert "Episodes: S1E01 Night Crossing" in said(app, "/synopsis S1E09", "t-bad").text
    assert history_turns(app, "t-bad") == 0 and app.room.services.history.count() == 0


def test_a_later_episode_is_refused_as_of_the_rooms_episode(app: App) -> None:
    early = {"as_of": "S1E03"}
    by_code = said(app, "/synopsis S1E04", "t-early", **early)
    assert by_code.kind == "error" and "comes after S1E03" in by_code.text
    by_title = said(app, "/synopsis Undertow", "t-early", **early)
    assert by_title.kind == "error" and "not an episode or an arc" in by_title.text
    for reply in (by_code, by_title):
        assert "Undertow" not in reply.text.replace("'Undertow'", "")  # its title is not told
        assert "S1E03 Fog Bell" in reply.text and "S1E05" not in reply.text
    assert history_turns(app, "t-early") == 0


def test_a_thread_with_nothing_said_has_nothing_to_summarise(app: App) -> None:
    open_brainstorm(app, "bs-empty")
    reply = said(app, "/synopsis thread", "bs-empty")
    assert reply.kind == "error" and "nothing to summarise in this thread" in reply.text
    assert history_turns(app, "bs-empty") == 0


# ---- given sentences (a scripted model): crediting, the checks, continuity -------------------
@pytest.fixture
def scripted(settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path) -> Iterator[App]:
    sentences = [
        {"text": "Maren rings the fog bell every night for Toby's ghost.", "sources": ["P1"]},
        # cites dana's pitch, says sam's: credited to sam
        {"text": "The rope was cut on purpose, and Quill knows who did it.", "sources": ["P1"]},
        {"text": "Write a synopsis for the writers of the show.", "sources": ["S1"]},
        {"text": "}, ] } (I) I have been told to do this.", "sources": ["P2"]},
        {"text": "The bell stays silent [S9] until episode 6.", "sources": ["S9", "P7"]},
    ]
    app = scripted_app(settings, embedder, tmp_path, json.dumps({"sentences": sentences}))
    yield app
    app.close()


def test_credits_come_from_the_ledger_and_checks_drop_what_is_not_the_thread(
    scripted: App,
) -> None:
    open_brainstorm(scripted, "bs")
    pitched(scripted, "bs")
    reply = said(scripted, "/synopsis thread", "bs", author="ana")
    result = assert_synopsis(reply, set(), "thread", "paragraph")
    dana, sam = pitch_of(scripted, "dana").id, pitch_of(scripted, "sam").id
    assert [(s.text, [p.author for p in s.pitches]) for s in result.sentences] == [
        ("Maren rings the fog bell every night for Toby's ghost.", ["dana"]),
        ("The rope was cut on purpose, and Quill knows who did it.", ["sam"]),
        ("The bell stays silent until episode 6.", []),
    ]
    assert result.credits == [
        Credit(author="dana", pitches=[dana]),
        Credit(author="sam", pitches=[sam]),
    ]
    assert f"Credits: dana (#{dana}), sam (#{sam})" in reply.text
    assert "}" not in reply.text and "told to do this" not in reply.text
    # the prompt showed the pitches by label and without their authors
    prompt = scripted.room.services.backend.prompts[-1]  # type: ignore[attr-defined]
    assert "[P1] Maren rings the fog bell" in prompt and "[P2] the fog bell rope" in prompt
    assert not re.search(r"\b(?:dana|sam|lee)\b", prompt)
    key = ConversationKey("terminal", "local", "writers", "bs")
    assert scripted.room.services.history.turns(key, SHOW)[-1].text.startswith("Synopsis")


def test_continuity_flags_sit_under_an_episode_synopsis(
    settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path
) -> None:
    """Toby died in S1E04, so a synopsis of S1E05 that has him skipper is flagged."""
    script = {"sentences": [{"text": "Toby skippers the night crossing.", "sources": ["S1"]}]}
    app = scripted_app(settings, embedder, tmp_path, json.dumps(script))
    try:
        reply = said(app, "/synopsis episode 5 logline", "t-flag")
        result = assert_synopsis(
            reply, shown(app, "episodes/ep105_slack_water.md"), "episode", "logline"
        )
        assert result.sentences[0].text == "Toby skippers the night crossing."
        assert len(result.continuity) == 1 and "timeline, certain" in result.continuity[0]
        body, _, footer = reply.text.partition("**Continuity:**")
        assert "Toby skippers" in body and footer.strip().startswith("- Continuity (timeline")
    finally:
        app.close()


def test_targets_name_episodes_and_arcs_as_writers_say_them(
    settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path
) -> None:
    """Which file a target names (the model's sentences are not under test here)."""
    script = {"sentences": [{"text": "Toby drowns at Drowned Quay.", "sources": ["S1"]}]}
    app = scripted_app(settings, embedder, tmp_path, json.dumps(script))
    try:
        for target, named in [
            ("S1E04", "S1E04 Undertow"),
            ("104", "S1E04 Undertow"),
            ("episode 4", "S1E04 Undertow"),
            ("undertow", "S1E04 Undertow"),
            ("S1E04 Undertow", "S1E04 Undertow"),
            ("the finale", "S1E06 High Water Mark"),
            ("the bridge arc", "The Bridge (arc)"),
            ("Lamplighter", "The Lamplighter (arc)"),  # the arc, not Quill's secret name
        ]:
            reply = said(app, f"/synopsis {target} logline", "t-names")
            assert reply.kind == "synopsis", (target, reply.text)
            assert reply.data and reply.data["target"] == named, target
        text = said(app, "/synopsis S1E04 and then Toby comes back as a ghost logline", "t-t")
        assert text.data and text.data["target_kind"] == "text"
        assert app.room.suggest(message(""), "episodes", "under") == ["Undertow"]  # Discord
    finally:
        app.close()


def test_each_sentence_is_cited_to_the_section_it_draws_on(
    settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path
) -> None:
    """S1 is Undertow's Summary, S2 its Aftermath: a label the words do not bear out is
    replaced by the shown section they come from. A sentence said twice is kept once."""
    script = {
        "sentences": [
            {"text": "The tide turns early and Toby drowns.", "sources": ["S2"]},
            {"text": "Maren finds Toby's phone in the wheelhouse.", "sources": ["S2"]},
            {"text": "Calder is suspended over an informant.", "sources": ["S1", "S2"]},
            {"text": "The tide turns early and Toby drowns at low water.", "sources": ["S1"]},
        ]
    }
    app = scripted_app(settings, embedder, tmp_path, json.dumps(script))
    try:
        reply = said(app, "/synopsis S1E04", "t-cite")
        result = assert_synopsis(reply, shown(app, UNDERTOW), "episode", "paragraph")
        headings = [[c.heading.split(" > ")[-1] for c in s.sources] for s in result.sentences]
        assert headings == [["Summary"], ["Aftermath"], ["Summary"]]
        assert not any(s.quoted for s in result.sentences)  # the model's own, all kept
    finally:
        app.close()


def test_synopsis_said_to_the_bot_is_the_command_only_when_it_reads_as_one() -> None:
    """'@bot synopsis thread' in a Slack thread runs it; a question about synopses does not."""
    from agents.commands import addressed_command

    for said in ("synopsis thread", "synopsis S1E04 page", "synopsis Undertow logline"):
        found = addressed_command(said)
        assert found is not None and found[0].name == "synopsis", said
    for question in ("synopsis is weak here, thoughts?", "synopsis Undertow?", ""):
        assert addressed_command(question) is None, question
    assert addressed_command("synopsis of the whole season so far with all of its arcs") is None
