"""The room in Slack: the real slack-bolt app over HTTP on loopback, a fake Web API that
records calls, bodies signed with Slack's algorithm, and the real model behind it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from agents.llm.llama import LlamaEngine
from bot.compose import App, build_app
from bot.settings import Settings
from bot.slack_bot import SlackRoom
from bot.slack_render import escape, split
from memory.embeddings import MiniLMEmbedder
from tests.conftest import ingest_other_show, run
from tests.slack_fake import SlackHarness, mention, room_maker, slack_harness


def maker(app: App, interval: float = 0.2) -> Callable[[str], SlackRoom]:
    return room_maker(app.room, interval=interval)


async def finished(h: SlackHarness, n: int = 1) -> None:
    """Wait until the adapter has finished n replies."""
    await h.wait_for(lambda: h.slack.replies_sent >= n)


def test_mention_then_thread_follow_up_without_mention(app: App) -> None:
    async def go() -> SlackHarness:
        async with slack_harness(maker(app)) as h:
            assert await h.event(mention("what happened to Toby?", "100.1"), "Ev1") == 200
            await finished(h)
            first = h.fake.named("chat.postMessage")[0]
            assert first["thread_ts"] == "100.1" and first["unfurl_links"] is False
            reply = {
                "type": "message",
                "user": "UDANA",
                "text": "and his debts?",
                "ts": "100.5",
                "thread_ts": "100.1",
                "channel": "C1",
                "channel_type": "channel",
            }
            assert await h.event(reply, "Ev2") == 200
            await h.wait_for(lambda: len(h.fake.named("chat.postMessage")) >= 2)
            await finished(h, 2)
            assert h.fake.named("chat.postMessage")[1]["thread_ts"] == "100.1"
            # a channel message outside the bot's threads is not answered
            await h.event(
                {
                    "type": "message",
                    "user": "UDANA",
                    "text": "lunch?",
                    "ts": "101.0",
                    "channel": "C1",
                    "channel_type": "channel",
                },
                "Ev3",
            )
            await asyncio.sleep(0.5)
            assert len(h.fake.named("chat.postMessage")) == 2
            return h

    h = run(go())
    updates = h.fake.named("chat.update")
    first_final = [u for u in updates if u["ts"] == "1001.0"][-1]["text"]
    assert "drown" in first_final and "Toby" in first_final
    assert "toby_vell.md" in first_final or "ep104_undertow.md" in first_final


def test_retries_and_duplicates_give_one_answer_even_after_restart(app: App) -> None:
    async def go() -> None:
        async with slack_harness(maker(app)) as h:
            for _ in range(3):
                assert await h.event(mention("who is Nell?", "200.1"), "EvDup") == 200
            await finished(h)
            await asyncio.sleep(0.5)
            assert len(h.fake.named("chat.postMessage")) == 1
        async with slack_harness(maker(app)) as h2:  # a restarted bot, same state
            assert await h2.event(mention("who is Nell?", "200.1"), "EvDup") == 200
            await asyncio.sleep(0.5)
            assert h2.fake.named("chat.postMessage") == []

    run(go())


def test_forged_or_stale_requests_get_401_and_reach_no_handler(app: App) -> None:
    async def go() -> None:
        async with slack_harness(maker(app)) as h:
            assert await h.event(mention("hi", "300.1"), "EvF", secret="wrong-secret") == 401
            old = int(time.time()) - 6 * 60
            assert await h.event(mention("hi", "300.2"), "EvO", timestamp=old) == 401
            await asyncio.sleep(0.3)
            assert [c for c in h.fake.calls if c[0] != "auth.test"] == []

    run(go())


def test_slash_command_is_acknowledged_at_once_while_the_model_is_busy(app: App) -> None:
    async def go() -> None:
        async with slack_harness(maker(app)) as h:
            await h.event(mention("tell me everything about the Lamplighter", "400.1"), "EvBusy")
            await h.wait_for(lambda: bool(h.fake.named("chat.postMessage")))
            start = time.monotonic()
            status = await h.command("logline Nell runs away to the mainland 1")
            assert status == 200 and time.monotonic() - start < 3.0
            await h.wait_for(
                lambda: any("asked:" in m["text"] for m in h.fake.named("chat.postMessage"))
            )
            posted = next(m for m in h.fake.named("chat.postMessage") if "asked:" in m["text"])
            assert posted["channel"] == "C1" and "dana asked:" in posted["text"]
            assert "Loglines" in posted["text"]
            # errors go only to the asker
            await h.command("logline")
            await h.wait_for(lambda: bool(h.fake.named("respond")))
            error = h.fake.named("respond")[-1]
            assert error["response_type"] == "ephemeral" and "needs PREMISE" in error["text"]

    run(go())


def test_rate_limit_is_waited_out_and_delivered_once(app: App) -> None:
    async def go() -> None:
        async with slack_harness(maker(app)) as h:
            h.fake.rate_limit_once.add("chat.postMessage")
            await h.event(mention("who is Ada?", "500.1"), "Ev429")
            await finished(h)
            assert [n for n, _ in h.fake.calls].count("chat.postMessage:429") == 1
            assert len(h.fake.named("chat.postMessage")) == 1

    run(go())


def test_model_output_cannot_ping_or_link() -> None:
    text = escape("Hey <!channel> and <!here>, ask <@U123> or <!subteam^S1> at <http://x|x> & co")
    assert "<" not in text and ">" not in text
    assert "&lt;!channel&gt;" in text and "&amp; co" in text
    parts = split("A" * 200 + "\n\n" + "word " * 1000, limit=300)
    assert all(len(p) <= 300 for p in parts) and parts[0] == "A" * 200
    assert all(not p.startswith(" ") and "wor " not in p for p in parts)


def test_a_channel_mapped_to_one_show_never_gets_another_shows_canon(
    app: App, tmp_path: Path
) -> None:
    ingest_other_show(app, tmp_path)

    async def go() -> None:
        async with slack_harness(maker(app)) as h:
            await h.command("show dust-bowl", user="UDANA", channel="C2")  # not an admin
            await h.wait_for(lambda: bool(h.fake.named("respond")))
            assert "Only the room's admins" in h.fake.named("respond")[-1]["text"]
            await h.command("show dust-bowl", user="UADMIN", channel="C2")
            await h.wait_for(lambda: len(h.fake.named("respond")) >= 2)
            assert "now works on dust-bowl" in h.fake.named("respond")[-1]["text"]
            await h.event(mention("who is Maren?", "600.1", channel="C2"), "EvShow")
            await finished(h)
            await h.command("bible search Maren ferry captain", channel="C2")
            await h.wait_for(
                lambda: any("asked:" in m["text"] for m in h.fake.named("chat.postMessage"))
            )
            texts = " ".join(m["text"] for m in h.fake.named("chat.postMessage")) + " ".join(
                u["text"] for u in h.fake.named("chat.update")
            )
            assert "characters/zed.md" in texts
            assert "maren_kessler.md" not in texts and "lantern" not in texts.lower()

    run(go())


def test_a_channel_with_no_show_gets_a_hint(
    settings: Settings, engine: LlamaEngine, embedder: MiniLMEmbedder
) -> None:
    unset = settings.model_copy(update={"default_show": ""})
    app = build_app(unset, engine=engine, embedder=embedder)

    async def go() -> None:
        async with slack_harness(maker(app)) as h:
            await h.event(mention("who is Maren?", "700.1", channel="C9"), "EvNoShow")
            await h.wait_for(lambda: bool(h.fake.named("chat.postMessage")))
            assert "not linked to a show" in h.fake.named("chat.postMessage")[0]["text"]

    try:
        run(go())
    finally:
        app.close()


def test_direct_messages_are_answered(app: App) -> None:
    async def go() -> None:
        async with slack_harness(maker(app)) as h:
            dm = {
                "type": "message",
                "user": "UDANA",
                "text": "who is Jun?",
                "ts": "800.1",
                "channel": "D1",
                "channel_type": "im",
            }
            assert await h.event(dm, "EvDM") == 200
            await finished(h)
            first = h.fake.named("chat.postMessage")[0]
            assert first["channel"] == "D1" and "thread_ts" not in first
            assert "jun_park.md" in h.fake.named("chat.update")[-1]["text"]

    run(go())


def test_streamed_and_final_text_is_neutralised(app: App) -> None:
    """Rendering path only: a scripted reply stands in for model output that tries to ping."""
    from agents.messages import Delta, Final, Reply

    async def scripted():  # type: ignore[no-untyped-def]
        yield Delta("Everyone look <!channel> ")
        await asyncio.sleep(0.3)
        yield Delta("and <@U999> <!subteam^S1|writers>")
        yield Final(Reply(kind="answer", text="Everyone look <!channel> and <@U999> <!here>"))

    async def go() -> SlackHarness:
        async with slack_harness(maker(app, interval=0.1)) as h:
            await h.slack._stream("C1", "900.1", scripted())
            return h

    h = run(go())
    texts = [args["text"] for name, args in h.fake.calls if name.startswith("chat.")]
    assert len(texts) >= 3  # placeholder, at least one streamed edit, the final edit
    assert all("<!" not in t and "<@" not in t for t in texts)
    assert "&lt;!channel&gt;" in texts[-1]
