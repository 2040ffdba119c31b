"""The room end to end on the real model, real Chroma and real SQLite."""

import asyncio

import pytest

from agents.schemas import Answer, CharacterCard, LoglineSet
from bot.compose import App, build_app
from bot.settings import Settings
from tests.conftest import SHOW, ask, assert_beat_sheet, assert_trustworthy, command, message, run


def stored(app: App) -> tuple[int, int]:
    return app.room.services.history.count(), app.bible.count(SHOW)


def test_logline_returns_n_valid_distinct_loglines(app: App) -> None:
    reply, _ = run(ask(app, message("/logline Maren must smuggle a crate to save the ferry 2")))
    assert reply.kind == "loglines", reply.text
    result = LoglineSet.model_validate(reply.data)
    assert len(result.loglines) == 2
    assert result.premise == "Maren must smuggle a crate to save the ferry"
    assert any(c.file == "characters/maren_kessler.md" for c in result.sources)


def test_beats_follow_the_structure_and_use_bible_characters(app: App) -> None:
    reply, _ = run(
        ask(app, message("/beats Toby's wake is interrupted by the fog bell tv-four-act"))
    )
    assert_beat_sheet(app, reply)


def test_character_card_from_the_bible(app: App) -> None:
    reply, _ = run(ask(app, message("/character Toby")))
    assert reply.kind == "character", reply.text
    card = CharacterCard.model_validate({k: v for k, v in reply.data.items() if k != "found"})
    assert card.name == "Tobias Vell"
    assert (card.status, card.last_episode) == ("dead", 4)  # facts come from the bible
    assert {c.file for c in card.sources} == {"characters/toby_vell.md"}


def test_unknown_character_gets_nearest_names(app: App) -> None:
    reply, _ = run(ask(app, message("/character Marin Kesler")))
    assert reply.kind == "character" and reply.data["found"] is False
    assert "not in the lantern-line bible" in reply.text
    assert "Maren Kessler" in reply.data["nearest"]


def test_bible_search_command(app: App) -> None:
    reply, _ = run(ask(app, message("/bible search who keeps the lighthouse chapel")))
    assert reply.kind == "search"
    hit = reply.data["hits"][0]
    assert {"file", "heading", "text", "score"} <= hit.keys()
    assert "characters/silas_quill.md" in {h["file"] for h in reply.data["hits"]}


def test_question_about_a_character_carries_the_fact_and_cites_the_right_file(app: App) -> None:
    reply, _ = run(ask(app, message("What happened to Toby at Drowned Quay?")))
    assert reply.kind == "answer"
    assert "drown" in reply.text  # the fact asked, not just a file name
    assert "characters/toby_vell.md" in {c.file for c in reply.citations}
    assert "[characters/toby_vell.md > " in reply.text
    assert_trustworthy(Answer.model_validate(reply.data))


def test_question_the_bible_does_not_cover_is_flagged_not_canon(app: App) -> None:
    reply, pieces = run(ask(app, message("What is the boiling point of liquid nitrogen?")))
    assert reply.kind == "answer"
    assert pieces[0].startswith("The lantern-line bible has nothing on this")
    assert reply.citations == []


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("/logline", "needs PREMISE"),
        ("/logline    2", "needs PREMISE"),
        ("/dance", "no command 'dance'"),
        ("", "message is empty"),
        ("x" * 100_000, "100,000 characters"),
    ],
)
def test_bad_input_is_explained_and_changes_nothing(app: App, text: str, needle: str) -> None:
    before = stored(app)
    reply, _ = run(ask(app, message(text)))
    assert reply.kind == "error" and needle in reply.text
    assert stored(app) == before


def test_unknown_show_is_explained_and_changes_nothing(app: App) -> None:
    before = stored(app)
    reply, _ = run(ask(app, message("Who is Maren?", show="the-wire-reboot")))
    assert reply.kind == "error"
    assert "no bible for the show 'the-wire-reboot'" in reply.text and "bible ingest" in reply.text
    assert stored(app) == before


def test_typed_command_entry_point(app: App) -> None:
    reply = run(command(app, message(""), "logline", {"premise": " ", "n": 2}))
    assert reply.kind == "error" and "needs PREMISE" in reply.text
    reply = run(command(app, message(""), "help", {}))
    assert reply.kind == "help" and "logline" in reply.text


def test_room_chatter_is_kept_without_a_reply(app: App) -> None:
    reply, pieces = run(ask(app, message("I think Quill is too obvious", mentions_bot=False)))
    assert reply.kind == "noted" and pieces == []
    turns = app.room.services.history.turns(message("").key, SHOW)
    assert turns[-1].text == "I think Quill is too obvious" and turns[-1].author == "dana"


def test_thread_history_survives_a_restart_and_feeds_follow_ups(
    settings: Settings, app: App
) -> None:
    first, _ = run(ask(app, message("Who is Maren Kessler?", thread="story-1")))
    assert first.kind == "answer"
    app.close()
    reopened = build_app(
        settings.model_copy(update={"answer_mode": "generate"}),
        engine=app.room.services.backend,
        embedder=app.bible._embedder,
    )
    try:
        key = message("", thread="story-1").key
        turns = reopened.room.services.history.turns(key, SHOW)
        assert [t.role for t in turns] == ["writer", "assistant"]
        assert turns[0].text == "Who is Maren Kessler?"
        follow = message("And what does she want?", thread="story-1")
        found = run(reopened.room.services.agent.gather(follow, SHOW))
        plan = reopened.room.services.agent.build_turn(follow, SHOW, found.canon, found.thread)
        assert "Who is Maren Kessler?" in plan.messages[1].content
        assert not {c.id for c in plan.fresh} & set(turns[0].canon_ids)  # not quoted twice
        reply, _ = run(ask(reopened, follow))
        assert reply.kind == "answer"
        assert reopened.room.services.agent.last_stats.reused_tokens > 0
    finally:
        reopened.close()


def test_two_channels_asking_at_once_both_get_answers(app: App) -> None:
    async def both() -> list:
        return await asyncio.gather(
            ask(app, message("Who is Nell?", channel="room-a")),
            ask(app, message("/logline Ada resigns to save the ferry 1", channel="room-b")),
        )

    (a, _), (b, _) = run(both())
    assert a.kind == "answer" and b.kind == "loglines", (a.text, b.text)


def test_a_model_timeout_is_explained_and_saves_nothing(settings: Settings, app: App) -> None:
    app.close()  # one process, one owner of the embedded store
    slow = build_app(
        settings.model_copy(update={"request_deadline_s": 0.01, "answer_mode": "generate"}),
        engine=app.room.services.backend,
        embedder=app.bible._embedder,
    )
    try:
        before = stored(slow)
        for text in ("Who is Maren?", "/logline Maren sells the ferry 1"):
            reply, _ = run(ask(slow, message(text)))
            assert reply.kind == "error" and "did not finish within" in reply.text
        assert stored(slow) == before
    finally:
        slow.close()


def test_an_unexpected_failure_still_answers_the_writer(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire: token=xoxb-123")

    monkeypatch.setattr(app.bible, "search", broken)
    before = stored(app)
    reply, _ = run(ask(app, message("/bible search fog")))
    assert reply.kind == "error" and "went wrong on the bot's side (RuntimeError)" in reply.text
    assert "xoxb" not in reply.text  # exception details stay in the log
    assert stored(app) == before
