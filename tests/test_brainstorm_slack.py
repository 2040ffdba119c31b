"""The brainstorm scenario in Slack: the real Bolt app over HTTP on loopback, signed events,
a fake Web API, reactions as votes, and the real model, Chroma and SQLite behind it."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from bot.compose import App
from bot.slack_bot import SlackRoom
from tests.conftest import SHOW, run
from tests.scenario import (
    DANA_PITCH,
    INJECTION,
    SAM_PITCH,
    TOPIC,
    assert_nothing_promoted,
    assert_promoted,
    assert_undone,
    bible_files,
    pitch_by_author,
)
from tests.slack_fake import BOT_USER, SlackHarness, room_maker, slack_harness

_events = itertools.count(1)
_ts = itertools.count(1)


def make_room(app: App) -> Callable[[str], SlackRoom]:
    return room_maker(app.room)


def texts(h: SlackHarness) -> list[str]:
    """Everything the bot has shown: posts and the edits that finished them."""
    return [c["text"] for c in h.fake.named("chat.postMessage") + h.fake.named("chat.update")]


async def say(h: SlackHarness, user: str, text: str, thread: str, *, mention: bool = False) -> str:
    """A writer's message in the thread; waits until the room has handled it."""
    ts = f"{900 + next(_ts)}.0"
    event: dict[str, Any] = {
        "type": "app_mention" if mention else "message",
        "user": user,
        "text": f"<@{BOT_USER}> {text}" if mention else text,
        "ts": ts,
        "thread_ts": thread,
        "channel": "C1",
        "channel_type": "channel",
    }
    handled = h.slack.messages_handled
    assert await h.event(event, f"Ev{next(_events)}") == 200
    await h.wait_for(lambda: h.slack.messages_handled > handled)
    return ts


async def react(h: SlackHarness, user: str, emoji: str, ts: str, added: bool = True) -> None:
    event = {
        "type": "reaction_added" if added else "reaction_removed",
        "user": user,
        "reaction": emoji,
        "item": {"type": "message", "channel": "C1", "ts": ts},
        "item_user": "UDANA",
        "event_ts": ts,
    }
    assert await h.event(event, f"Ev{next(_events)}") == 200


def test_brainstorm_scenario_in_slack(app: App) -> None:
    async def go() -> None:
        async with slack_harness(make_room(app)) as h:
            assert await h.command(f"brainstorm {TOPIC}") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1)
            parent, opening = h.fake.named("chat.postMessage")[:2]
            assert "Brainstorm:" in parent["text"] and parent.get("thread_ts") is None
            thread = opening["thread_ts"]
            assert "Canon in play:" in opening["text"] and "To open:" in opening["text"]
            before = bible_files(app)

            dana_ts = await say(h, "UDANA", DANA_PITCH, thread)
            sam_ts = await say(h, "USAM", SAM_PITCH, thread)
            p_sam = pitch_by_author(app, "sam")
            assert any(f"Pitch #{p_sam.id} from sam" in t for t in texts(h))

            # reactions are votes: one per writer, removable, thumbs-down is not one
            await react(h, "ULEE", "+1", sam_ts)
            await react(h, "ULEE", "tada", sam_ts)  # a second emoji is still one vote
            await react(h, "UDANA", "fire", sam_ts)
            await react(h, "UANA", "+1", dana_ts)
            await react(h, "UANA", "+1", dana_ts, added=False)
            await react(h, "USAM", "-1", dana_ts)
            await react(h, BOT_USER, "eyes", dana_ts)
            await h.wait_for(lambda: h.slack.reactions_counted >= 5)
            assert sorted(pitch_by_author(app, "sam").voters) == ["dana", "lee"]
            assert pitch_by_author(app, "dana").votes == 0

            posts_before = len(h.fake.named("chat.postMessage"))
            await say(h, "ULEE", "decision: the bell stays silent until episode 6", thread)
            await say(h, "USAM", "who cut the rope, though?", thread)
            assert len(h.fake.named("chat.postMessage")) == posts_before  # recorded, not answered

            await say(h, "ULEE", "what if the bell rings by itself?", thread, mention=True)
            assert any(t.startswith(f"Building on sam's pitch #{p_sam.id}") for t in texts(h))

            await say(h, "UDANA", INJECTION, thread)
            await say(h, "UDANA", f"canon add {p_sam.id}", thread, mention=True)
            assert "canon editors" in texts(h)[-1]
            assert_nothing_promoted(app, before)

            await say(h, "UANA", "wrap", thread, mention=True)
            wrap = next(t for t in reversed(texts(h)) if "Top pitches" in t)
            assert f"#{p_sam.id} sam" in wrap and "2 votes" in wrap

            await say(h, "UANA", f"canon add {p_sam.id}", thread, mention=True)
            file = assert_promoted(app, p_sam, approver="ana")
            bs = app.room.services.ledger.log.brainstorms(SHOW)[0]
            assert bs.link.endswith(f"/C1/thread/C1-{thread}")
            await say(h, "UANA", "canon undo", thread, mention=True)
            assert_undone(app, before, file)
            for post in h.fake.named("chat.postMessage"):
                assert post.get("thread_ts") in (thread, None) and post["unfurl_links"] is False

    run(go())


def test_thread_commands_by_slash_point_to_the_thread(app: App) -> None:
    async def go() -> None:
        async with slack_harness(make_room(app)) as h:
            await h.command("wrap")
            await h.wait_for(lambda: bool(h.fake.named("respond")))
            assert "@room-bot wrap" in h.fake.named("respond")[-1]["text"]
            await h.command("brainstorm")
            await h.wait_for(lambda: len(h.fake.named("respond")) >= 2)
            assert "needs TOPIC" in h.fake.named("respond")[-1]["text"]
            assert h.fake.named("chat.postMessage") == []

    run(go())
