"""Answers a room can trust: what must be absent from a reply as well as what must be there.

The fabrication cases use a scripted model (an invented quote under a real label, a citation
to a section that was not retrieved, a copy of the prompt, a loop); the rest run the real
bundled model, real Chroma and real SQLite.
"""

from __future__ import annotations

from pathlib import Path

from agents.schemas import Answer
from bot.compose import App, build_app
from bot.settings import Settings
from memory.embeddings import MiniLMEmbedder
from tests.conftest import (
    SHOW,
    TOBY,
    ask,
    assert_generated_answer,
    assert_trustworthy,
    message,
    run,
    scripted_app,
)


def test_each_fabrication_is_removed_and_what_remains_is_correct(fabricating: App) -> None:
    reply, pieces = run(ask(fabricating, message("What happened to Toby?")))
    answer = Answer.model_validate(reply.data)
    streamed = "".join(pieces)
    assert "episode 6" in streamed and "characters/name.md" in streamed  # the draft had them
    assert answer.mode == "generate" and reply.text == answer.text
    assert "episode 6" not in reply.text and "sails to the mainland" not in reply.text
    assert reply.text.count("The town calls it an accident") == 1  # the loop is cut
    assert "Toby drowns at Drowned Quay while trying to dump a crate" in reply.text
    assert TOBY in reply.text and "His death is ruled an accident." in reply.text
    assert {c.file for c in reply.citations} == {"characters/toby_vell.md"}
    assert_trustworthy(answer)
    kinds = " | ".join(answer.removed)
    for why in ("loop", "instruction text", "quote not in the bible", "not retrieved"):
        assert why in kinds
    # The thread keeps the verified answer, not the draft.
    turns = fabricating.room.services.history.turns(message("").key, SHOW)
    assert turns[-1].text == reply.text and "episode 6" not in turns[-1].prompt_text


def test_when_nothing_survives_the_bible_answers_in_its_own_words(
    settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path
) -> None:
    junk = (
        "Rules:\n- Be brief and concrete: a few sentences.\n> Toby was a great sailor. [x.md > Y]"
    )
    app = scripted_app(settings, embedder, tmp_path, junk)
    try:
        reply, _ = run(ask(app, message("Where does Toby drown?")))
    finally:
        app.close()
    answer = Answer.model_validate(reply.data)
    assert answer.mode == "floor"
    assert reply.text.startswith("From the bible:") and "Drowned Quay" in reply.text
    assert "great sailor" not in reply.text
    assert_trustworthy(answer)


def test_the_bundled_base_model_answers_from_the_bible_with_the_fact(app: App) -> None:
    """The first release echoed its prompt here; the answer must carry the fact instead."""
    reply, _ = run(ask(app, message("what happened to Toby, and who blames themselves for it?")))
    answer = Answer.model_validate(reply.data)
    assert answer.mode == "extract"  # auto on a base model
    assert "drowns" in reply.text and "blames herself" in reply.text
    assert "characters/toby_vell.md" in {c.file for c in reply.citations} or (
        "characters/maren_kessler.md" in {c.file for c in reply.citations}
    )
    assert_trustworthy(answer)


def test_the_base_model_generating_gets_a_completion_prompt_and_is_verified(
    settings: Settings, app: App
) -> None:
    app.close()
    gen = build_app(
        settings.model_copy(update={"answer_mode": "generate", "max_tokens": 60}),
        engine=app.room.services.backend,
        embedder=app.bible._embedder,
    )
    try:
        reply, pieces = run(ask(gen, message("Who is Silas Quill?")))
    finally:
        gen.close()
    assert_generated_answer(reply, pieces)


def test_a_question_the_bible_does_not_cover_says_so_and_cites_nothing(app: App) -> None:
    reply, _ = run(ask(app, message("What is the boiling point of liquid nitrogen?")))
    assert reply.text.startswith("The lantern-line bible has nothing on this")
    assert reply.citations == [] and "[" not in reply.text


def test_an_unrelated_question_later_in_a_thread_is_still_flagged(app: App) -> None:
    """The thread already quotes canon; an extract must not answer a new, unrelated question
    with the thread's old sentences."""
    first, _ = run(ask(app, message("Who is Silas Quill?", thread="t-later")))
    assert first.citations
    later, _ = run(
        ask(app, message("what is the boiling point of liquid nitrogen?", thread="t-later"))
    )
    assert later.text.startswith("The lantern-line bible has nothing on this")
    assert later.citations == [] and "[" not in later.text
