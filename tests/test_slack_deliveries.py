"""Each Slack event is answered once: not zero times, not twice. Through the real Bolt app
over HTTP on loopback and the fake Web API, on a scripted model (which reply the model
writes does not matter here, only how many replies there are and where they go).

Slack repeats an event's event_id on every retry (with X-Slack-Retry-Num); events that come
without one must not all count as one event."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.compose import App
from bot.settings import Settings
from memory.embeddings import MiniLMEmbedder
from tests.conftest import run, scripted_app
from tests.scenario import DANA_PITCH, TOPIC, pitch_by_author
from tests.slack_fake import BOT_USER, SlackHarness, room_maker, slack_harness

PROVOCATIONS = json.dumps(
    {
        "provocations": [
            {"text": "What if the bell rings for someone who is still alive?", "sources": []},
            {"text": "Who in town would want the bell silent for good?", "sources": []},
        ]
    }
)


@pytest.fixture
def scripted(settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path) -> Iterator[App]:
    app = scripted_app(settings, embedder, tmp_path, "Nell keeps the lamp on the quay.")
    yield app
    app.close()


def mention(ts: str, channel: str = "C1") -> dict[str, str]:
    return {
        "type": "app_mention",
        "user": "UDANA",
        "text": f"<@{BOT_USER}> who keeps the lamp?",
        "ts": ts,
        "channel": channel,
    }


def direct(ts: str) -> dict[str, str]:
    return {
        "type": "message",
        "user": "UDANA",
        "text": "who keeps the lamp?",
        "ts": ts,
        "channel": "D1",
        "channel_type": "im",
    }


def reaction(user: str, emoji: str, ts: str, at: str) -> dict[str, Any]:
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": emoji,
        "item": {"type": "message", "channel": "C1", "ts": ts},
        "item_user": "UDANA",
        "event_ts": at,
    }


async def settled(h: SlackHarness, replies: int) -> list[dict[str, Any]]:
    """Wait for ``replies`` finished replies, give any extra one time to show, and return
    the first message of each reply."""
    await h.wait_for(lambda: h.slack.replies_sent >= replies, timeout=30)
    await asyncio.sleep(0.5)
    return h.fake.named("chat.postMessage")


def test_mentions_without_an_event_id_are_each_answered(scripted: App) -> None:
    async def go() -> None:
        async with slack_harness(room_maker(scripted.room)) as h:
            for ts in ("100.1", "100.2", "100.3"):
                assert await h.event(mention(ts), None) == 200
            posts = await settled(h, 3)
            assert sorted(p["thread_ts"] for p in posts) == ["100.1", "100.2", "100.3"]
            assert h.slack.replies_sent == 3

    run(go())


def test_direct_messages_without_an_event_id_are_each_answered(scripted: App) -> None:
    async def go() -> None:
        async with slack_harness(room_maker(scripted.room)) as h:
            assert await h.event(direct("200.1"), None) == 200
            assert await h.event(direct("200.2"), None) == 200
            posts = await settled(h, 2)
            assert [p["channel"] for p in posts] == ["D1", "D1"]
            assert h.slack.replies_sent == 2

    run(go())


def test_a_retried_event_is_answered_once(scripted: App) -> None:
    async def go() -> None:
        async with slack_harness(room_maker(scripted.room)) as h:
            assert await h.event(mention("300.1"), "EvOnce") == 200
            for n in (1, 2, 3):  # Slack's retries carry the same event_id
                assert await h.event(mention("300.1"), "EvOnce", retry=n) == 200
            # a retry of an event that came without an event_id is the same event again
            assert await h.event(mention("300.2"), None) == 200
            assert await h.event(mention("300.2"), None, retry=1) == 200
            posts = await settled(h, 2)
            assert [p["thread_ts"] for p in posts] == ["300.1", "300.2"]
            assert h.slack.replies_sent == 2

    run(go())


def test_reactions_without_an_event_id_each_count(
    settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path
) -> None:
    app = scripted_app(settings, embedder, tmp_path, PROVOCATIONS)

    async def go() -> None:
        async with slack_harness(room_maker(app.room)) as h:
            assert await h.command(f"brainstorm {TOPIC}") == 200
            await h.wait_for(lambda: h.slack.replies_sent == 1, timeout=30)
            thread = h.fake.named("chat.postMessage")[1]["thread_ts"]
            pitch = {
                "type": "message",
                "user": "UDANA",
                "text": DANA_PITCH,
                "ts": "400.5",
                "thread_ts": thread,
                "channel": "C1",
                "channel_type": "channel",
            }
            assert await h.event(pitch, "EvPitch") == 200
            await h.wait_for(lambda: h.slack.messages_handled == 1, timeout=30)
            for user in ("ULEE", "USAM", "UANA"):
                assert await h.event(reaction(user, "+1", "400.5", f"401.{user}"), None) == 200
            # the same reaction delivered again is not a second vote
            assert await h.event(reaction("ULEE", "+1", "400.5", "401.ULEE"), None) == 200
            await h.wait_for(lambda: h.slack.reactions_counted >= 3, timeout=30)
            await asyncio.sleep(0.5)
            assert h.slack.reactions_counted == 3
            assert sorted(pitch_by_author(app, "dana").voters) == ["ana", "lee", "sam"]

    try:
        run(go())
    finally:
        app.close()
