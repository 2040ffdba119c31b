"""The room in Discord: discord.py's own parsing of raw gateway payloads, a fake REST API on
loopback, and the real model behind the bot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from bot.compose import App
from bot.discord_bot import DiscordRoom
from bot.discord_render import split
from tests.conftest import ingest_other_show, run
from tests.discord_fake import (
    ADMIN_ROLE,
    BOT,
    CHANNEL,
    DiscordHarness,
    bot_maker,
    discord_harness,
    interaction_payload,
    message_payload,
    thread_create_payload,
)


def maker(app: App) -> Callable[[], DiscordRoom]:
    return bot_maker(app.room)


def posts(h: DiscordHarness, channel: int | str) -> list[dict]:
    return h.fake.named("POST", rf"^/channels/{channel}/messages$")


def test_mention_gets_a_thread_and_follow_ups_need_no_mention(app: App) -> None:
    async def go() -> None:
        async with discord_harness(maker(app)) as h:
            h.message(
                message_payload(
                    CHANNEL, 555, f"<@{BOT}> what happened to Toby?", mid=111, mentions=[BOT]
                )
            )
            await h.wait_for(lambda: h.bot.replies_sent >= 1)
            created = h.fake.named("POST", rf"^/channels/{CHANNEL}/messages/111/threads$")
            assert len(created) == 1
            thread_calls = [
                p
                for m, p, _ in h.fake.calls
                if m == "POST"
                and "/threads" not in p
                and p.startswith("/channels/")
                and not p.startswith(f"/channels/{CHANNEL}/")
            ]
            assert thread_calls, h.fake.calls  # the answer went into the new thread
            thread_id = int(thread_calls[0].split("/")[2])
            h.thread_created(thread_create_payload(thread_id, CHANNEL))
            h.message(message_payload(thread_id, 555, "and his debts?"))
            await h.wait_for(lambda: h.bot.replies_sent >= 2)
            assert len(posts(h, thread_id)) >= 2
            edits = h.fake.named("PATCH", rf"^/channels/{thread_id}/messages/\d+$")
            assert any("toby_vell.md" in e.get("content", "") for e in edits)
            assert all(e["allowed_mentions"]["parse"] == [] for e in edits + posts(h, thread_id))
            # a message in the channel that does not mention the bot is left alone
            h.message(message_payload(CHANNEL, 555, "lunch?"))
            await asyncio.sleep(0.5)
            assert h.bot.replies_sent == 2

    run(go())


def test_slash_command_is_deferred_at_once_while_the_model_is_busy(app: App) -> None:
    async def go() -> None:
        async with discord_harness(maker(app)) as h:
            h.message(
                message_payload(
                    CHANNEL, 555, f"<@{BOT}> tell me all about the Lamplighter", mentions=[BOT]
                )
            )
            await h.wait_for(lambda: bool(h.fake.named("POST", r"/threads$")))
            start = time.monotonic()
            h.interaction(
                interaction_payload(
                    "logline",
                    [
                        {"name": "premise", "type": 3, "value": "Nell runs away to the mainland"},
                        {"name": "n", "type": 4, "value": 1},
                    ],
                )
            )
            await h.wait_for(
                lambda: bool(h.fake.named("POST", r"^/interactions/\d+/tok/callback$"))
            )
            assert time.monotonic() - start < 3.0
            defer = h.fake.named("POST", r"/callback$")[0]
            assert defer["type"] == 5 and defer["data"]["flags"] == 64  # deferred, ephemeral
            await h.wait_for(
                lambda: any("asked for /logline" in p.get("content", "") for p in posts(h, CHANNEL))
            )
            posted = next(p for p in posts(h, CHANNEL) if "asked for /logline" in p["content"])
            assert "dana asked" in posted["content"] and "Loglines" in posted["content"]
            # errors stay with the asker
            h.interaction(
                interaction_payload("logline", [{"name": "premise", "type": 3, "value": "   "}])
            )
            await h.wait_for(
                lambda: any(
                    "needs PREMISE" in w.get("content", "")
                    for w in h.fake.named("POST", r"^/webhooks/")
                )
            )
            error = next(
                w
                for w in h.fake.named("POST", r"^/webhooks/")
                if "needs PREMISE" in w.get("content", "")
            )
            assert error["flags"] == 64

    run(go())


def test_long_answers_split_at_2000_with_fences_intact() -> None:
    text = "Intro\n\n```\n" + "\n".join(f"line {i} " + "x" * 60 for i in range(70)) + "\n```\n"
    text += "\n".join(f"- item {i} " + "y" * 50 for i in range(20))
    assert len(text) > 5000
    parts = split(text)
    assert len(parts) >= 3 and all(len(p) <= 2000 for p in parts)
    assert all(p.count("```") % 2 == 0 for p in parts)
    items = [line for p in parts for line in p.split("\n") if line.startswith("- item")]
    assert len(items) == 20 and all(line.endswith("y" * 50) for line in items)


def test_nothing_the_bot_sends_can_ping(app: App) -> None:
    """Rendering path: a scripted reply stands in for model output that tries to ping."""
    from agents.messages import Delta, Final, Reply

    async def scripted():  # type: ignore[no-untyped-def]
        yield Delta("@everyone look <@&777> ")
        await asyncio.sleep(0.3)
        yield Final(Reply(kind="answer", text="@everyone look <@&777> and @here"))

    async def go() -> DiscordHarness:
        async with discord_harness(maker(app)) as h:
            channel = h.bot.get_channel(CHANNEL)
            await h.bot._stream(channel, scripted())
            return h

    h = run(go())
    sent = posts(h, CHANNEL) + h.fake.named("PATCH", rf"^/channels/{CHANNEL}/messages/")
    assert sent and all(s["allowed_mentions"] == {"parse": []} for s in sent)


def test_only_configured_role_ids_change_the_show_and_shows_stay_apart(
    app: App, tmp_path: Path
) -> None:
    ingest_other_show(app, tmp_path)

    async def go() -> None:
        async with discord_harness(maker(app)) as h:
            opt = [{"name": "name", "type": 3, "value": "dust-bowl"}]
            h.interaction(interaction_payload("show", opt, roles=[]))
            await h.wait_for(lambda: bool(h.fake.named("POST", r"^/webhooks/")))
            assert "Only the room's admins" in h.fake.named("POST", r"^/webhooks/")[-1]["content"]
            assert app.room.services.state.mapped_show("discord", "900", str(CHANNEL)) is None
            h.interaction(interaction_payload("show", opt, roles=[ADMIN_ROLE]))
            await h.wait_for(lambda: len(h.fake.named("POST", r"^/webhooks/")) >= 2)
            assert "now works on dust-bowl" in h.fake.named("POST", r"^/webhooks/")[-1]["content"]
            h.interaction(
                interaction_payload(
                    "bible", [{"name": "query", "type": 3, "value": "Maren ferry captain"}]
                )
            )
            await h.wait_for(
                lambda: any("asked for /bible" in p.get("content", "") for p in posts(h, CHANNEL))
            )
            text = " ".join(p["content"] for p in posts(h, CHANNEL))
            assert "characters/zed.md" in text and "maren_kessler.md" not in text

    run(go())
