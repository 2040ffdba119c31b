"""The one door, on a scripted backend (routing and rendering only; generation itself is
tested on the real model elsewhere): every kind of event in, typed replies out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.messages import Command, Final, Reaction, Working
from agents.render import plain
from agents.schemas import LoglineSet
from bot.compose import App
from bot.settings import Settings
from bot.slack_render import mrkdwn
from bot.terminal import styled
from memory.embeddings import MiniLMEmbedder
from tests.conftest import SHOW, message, run, scripted_app

LOGLINES = json.dumps(
    {
        "loglines": [
            {
                "protagonist": "Maren",
                "goal": "save the ferry",
                "obstacle": "the fog",
                "hook": "a crate",
                "logline": "Maren must <!channel> save the ferry",
            }
        ]
    }
)


@pytest.fixture
def scripted(settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path) -> Iterator[App]:
    app = scripted_app(settings, embedder, tmp_path, LOGLINES)
    yield app
    app.close()


def updates(app: App, event: object) -> list[object]:
    async def go() -> list[object]:
        return [u async for u in app.room.handle(event)]  # type: ignore[arg-type]

    return run(go())


def test_a_text_command_and_a_typed_one_reach_the_same_handler(scripted: App) -> None:
    said = message("/logline Maren saves the ferry 1")
    out = updates(scripted, said)
    assert isinstance(out[0], Working) and isinstance(out[-1], Final)
    reply = out[-1].reply
    assert (
        isinstance(reply.result, LoglineSet) and reply.result.loglines[0].goal == "save the ferry"
    )
    assert reply.text.startswith("**Loglines** for: Maren saves the ferry")
    turns = scripted.room.services.history.turns(said.key, SHOW)
    assert [t.text for t in turns] == ["/logline Maren saves the ferry 1", plain(reply.text)]
    typed = Command(
        **said.model_dump(exclude={"text", "mentions_bot", "in_bot_thread"}),
        name="logline",
        args={"premise": "Maren saves the ferry", "n": 1},
    )
    again = updates(scripted, typed)[-1].reply  # type: ignore[attr-defined]
    assert again.result == reply.result


def test_what_the_door_refuses_it_explains(scripted: App) -> None:
    wrong = [
        (message("/teleport now"), "no command 'teleport'"),
        (message("/wrap"), "works inside a brainstorm thread: there, say `@bot wrap`"),
        (message("who is Maren?", show="nope"), "no bible for the show 'nope'"),
        (message("/show lantern-line"), "Only the room's admins"),
    ]
    for event, needle in wrong:
        reply = updates(scripted, event)[-1].reply  # type: ignore[attr-defined]
        assert reply.kind == "error" and needle in reply.text, reply.text
    chatter = message("coffee?", mentions_bot=False)
    assert updates(scripted, chatter)[-1].reply.kind == "noted"  # type: ignore[attr-defined]


def test_a_reaction_on_something_that_is_not_a_pitch_changes_nothing(scripted: App) -> None:
    said = message("x")
    reaction = Reaction(
        **said.model_dump(exclude={"text", "mentions_bot", "in_bot_thread", "message_id"}),
        message_id="nowhere",
        token="+1",
        added=True,
    )
    assert updates(scripted, reaction)[-1].reply.kind == "noted"  # type: ignore[attr-defined]


def test_each_platform_adds_only_its_escaping_to_the_neutral_text() -> None:
    neutral = "**Loglines** for: a <!channel> [red]premise[/red]"
    assert plain(neutral) == "Loglines for: a <!channel> [red]premise[/red]"
    assert mrkdwn(neutral) == "*Loglines* for: a &lt;!channel&gt; [red]premise[/red]"
    assert styled(neutral) == "[bold]Loglines[/bold] for: a <!channel> \\[red]premise\\[/red]"


def test_the_terminal_show_is_the_one_asked_for(scripted: App) -> None:
    reply = updates(scripted, message("/bible search fog bell", show=SHOW))[-1].reply  # type: ignore[attr-defined]
    assert reply.kind == "search" and reply.result.hits  # type: ignore[union-attr]


PROVOCATIONS = json.dumps(
    {
        "provocations": [
            {"text": "What if the bell rings for someone who is still alive?", "sources": []},
            {"text": "Who in town would want the bell silent for good?", "sources": []},
            {"text": "What does Maren owe the bell after the storm?", "sources": []},
        ]
    }
)


def test_a_brainstorm_from_the_terminal_gets_a_named_thread_even_from_inside_one(
    settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path
) -> None:
    import io

    from rich.console import Console

    from bot.terminal import TerminalRoom

    app = scripted_app(settings, embedder, tmp_path, PROVOCATIONS)
    try:
        out = Console(file=io.StringIO(), width=200)
        term = TerminalRoom(app.room, show=SHOW, writer="dana", thread="main", out=out, err=out)
        first = run(term.send("/brainstorm the fog bell"))
        assert first.kind == "brainstorm", first.text
        assert term.thread == first.thread == "bs-the-fog-bell"
        second = run(term.send("/brainstorm the fog bell"))
        assert second.kind == "brainstorm", second.text
        assert term.thread == "bs-the-fog-bell-2"
        services = app.room.services
        opened = services.ledger.log.brainstorms(SHOW)
        assert [b.key.thread for b in opened] == ["bs-the-fog-bell", "bs-the-fog-bell-2"]
        for thread in ("bs-the-fog-bell", "bs-the-fog-bell-2"):  # the bot takes part in each
            assert app.room.in_thread("terminal", "local", "terminal", thread)
        said = services.ledger.log.messages(opened[0].id)
        assert said and "**" not in said[0].text  # the ledger keeps text without markup
    finally:
        app.close()


def test_a_command_from_a_channel_keeps_the_writers_own_history() -> None:
    from agents.messages import Command as Cmd

    dana = Cmd(
        platform="slack", workspace="T1", channel="C1", author="dana", author_id="U1", name="help"
    )
    sam = dana.model_copy(update={"author": "sam", "author_id": "U2", "thread": ""})
    assert dana.thread == "command-U1"
    assert Cmd.model_validate(sam.model_dump()).thread == "command-U2"
    in_thread = Cmd(
        platform="slack", workspace="T1", channel="C1", thread="171.1", author="dana", name="help"
    )
    assert in_thread.thread == "171.1"
