"""`/show` with a name that is no show, and app commands that fail, always get an answer
that says what went wrong and what to do, in Discord (discord.py parsing raw interactions
against the fake REST API) and in Slack (the real Bolt app over HTTP on loopback).

A scripted model stands in: none of these reaches the model."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.compose import App
from bot.discord_bot import COMMAND_FAILED, STALE_COMMAND
from bot.settings import Settings
from memory.embeddings import MiniLMEmbedder
from tests.conftest import run, scripted_app
from tests.discord_fake import (
    ADMIN_ROLE,
    CHANNEL,
    GUILD,
    DiscordHarness,
    bot_maker,
    discord_harness,
    interaction_payload,
)
from tests.slack_fake import room_maker, slack_harness

LONG = "the lighthouse keeper's daughter " * 100  # 3,300 characters
BAD_NAMES = ["../x", "a" * 500, LONG, "Dust Bowl!!", "é!"]
ADVICE = "use 3-50 letters, digits or dashes, like lantern-line"


@pytest.fixture
def scripted(settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path) -> Iterator[App]:
    app = scripted_app(settings, embedder, tmp_path, "unused")
    yield app
    app.close()


def followups(h: DiscordHarness) -> list[dict[str, Any]]:
    return h.fake.named("POST", r"^/webhooks/")


def channel_posts(h: DiscordHarness) -> list[dict[str, Any]]:
    return h.fake.named("POST", rf"^/channels/{CHANNEL}/messages$")


def assert_says_what_to_do(text: str, name: str) -> None:
    if "Dust Bowl" in name:  # a usable name with no bible ('dust-bowl')
        assert "There is no bible for 'dust-bowl'" in text
    else:
        assert ADVICE in text
    assert "Nothing changed" in text
    assert len(text) < 400  # a long name is cut, so the advice stays in the one message
    for leak in ("Traceback", "InvalidShowName", "/work/", ".py"):
        assert leak not in text


def test_discord_show_with_a_bad_name_answers_the_writer(scripted: App) -> None:
    async def go() -> DiscordHarness:
        async with discord_harness(bot_maker(scripted.room)) as h:
            for n, name in enumerate([*BAD_NAMES, ""], start=1):
                option = [{"name": "name", "type": 3, "value": name}]
                h.interaction(interaction_payload("show", option, roles=[ADMIN_ROLE]))
                await h.wait_for(lambda n=n: len(followups(h)) == n, timeout=30)
            await asyncio.sleep(0.3)
            return h

    h = run(go())
    answers = followups(h)
    assert len(answers) == len(BAD_NAMES) + 1  # one each, no more
    assert all(a["flags"] == 64 for a in answers)  # only the asker sees them
    for name, answer in zip(BAD_NAMES, answers[:-1], strict=True):
        assert_says_what_to_do(answer["content"], name)
    assert "a" * 61 not in answers[1]["content"] and LONG[:61] not in answers[2]["content"]
    assert "'show' needs NAME" in answers[-1]["content"]
    assert channel_posts(h) == []  # nothing said to the room
    assert scripted.room.services.state.mapped_show("discord", str(GUILD), str(CHANNEL)) is None


def test_slack_show_with_a_bad_name_answers_the_writer(scripted: App) -> None:
    async def go() -> list[dict[str, Any]]:
        async with slack_harness(room_maker(scripted.room)) as h:
            for n, name in enumerate(BAD_NAMES, start=1):
                assert await h.command(f"show {name}", user="UADMIN") == 200
                await h.wait_for(lambda n=n: len(h.fake.named("respond")) == n, timeout=30)
            assert h.fake.named("chat.postMessage") == []
            return h.fake.named("respond")

    answers = run(go())
    assert all(a["response_type"] == "ephemeral" for a in answers)
    for name, answer in zip(BAD_NAMES, answers, strict=True):
        assert_says_what_to_do(answer["text"], name)
    assert "a" * 61 not in answers[1]["text"] and LONG[:61] not in answers[2]["text"]
    assert scripted.room.services.state.mapped_show("slack", "T1", "C1") is None


def test_a_command_discord_sends_in_an_older_form_is_answered(scripted: App) -> None:
    """After an upgrade renames an option, Discord may still send the old form for a while;
    discord.py refuses it before our handler runs, and used to leave the writer waiting."""

    async def go() -> DiscordHarness:
        async with discord_harness(bot_maker(scripted.room)) as h:
            stale = [{"name": "show_name", "type": 3, "value": "lantern-line"}]
            h.interaction(interaction_payload("show", stale, roles=[ADMIN_ROLE]))
            await h.wait_for(lambda: bool(h.fake.named("POST", r"/callback$")), timeout=30)
            await asyncio.sleep(0.3)
            return h

    h = run(go())
    [answer] = h.fake.named("POST", r"^/interactions/\d+/[^/]+/callback$")
    assert answer["type"] == 4 and answer["data"]["flags"] == 64
    assert answer["data"]["content"] == STALE_COMMAND
    assert followups(h) == [] and channel_posts(h) == []
    assert scripted.room.services.state.mapped_show("discord", str(GUILD), str(CHANNEL)) is None


def test_a_command_that_fails_after_it_was_deferred_is_answered(scripted: App) -> None:
    """The bot may not post in the channel (no Send Messages permission): the result cannot
    be shown to the room, and the asker hears so instead of 'thinking…' for ever."""

    async def go() -> DiscordHarness:
        async with discord_harness(bot_maker(scripted.room)) as h:
            h.fake.forbidden.add(rf"/channels/{CHANNEL}/messages")
            query = [{"name": "query", "type": 3, "value": "Maren ferry captain"}]
            h.interaction(interaction_payload("bible", query))
            await h.wait_for(lambda: bool(followups(h)), timeout=30)
            await asyncio.sleep(0.3)
            return h

    h = run(go())
    [deferred] = h.fake.named("POST", r"/callback$")
    assert deferred["type"] == 5  # deferred at once, as every command is
    assert len(channel_posts(h)) == 1  # the post Discord refused
    [answer] = followups(h)
    assert answer["content"] == COMMAND_FAILED and answer["flags"] == 64
