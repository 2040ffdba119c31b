"""The brainstorm scenario in Discord: raw gateway payloads through discord.py's own parsing
(messages, reactions, interactions), a fake REST API on loopback, and the real model,
Chroma and SQLite behind the bot."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

from bot.compose import App
from bot.discord_bot import DiscordRoom
from tests.conftest import SHOW, run
from tests.discord_fake import (
    BOT,
    CANON_ROLE,
    CHANNEL,
    DiscordHarness,
    bot_maker,
    discord_harness,
    interaction_payload,
    message_payload,
    reaction_payload,
    thread_create_payload,
)
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

WRITERS = {"dana": 555, "sam": 556, "ana": 557, "lee": 558}
_mids = itertools.count(50_000)


def make_bot(app: App) -> Callable[[], DiscordRoom]:
    return bot_maker(app.room)


def shown(h: DiscordHarness, thread: int) -> list[str]:
    """What the bot has shown in the thread: posts and the edits that finished them."""
    posts = h.fake.named("POST", rf"^/channels/{thread}/messages$")
    edits = h.fake.named("PATCH", rf"^/channels/{thread}/messages/\d+$")
    return [b.get("content", "") for b in posts + edits]


def followups(h: DiscordHarness) -> list[str]:
    return [b.get("content", "") for b in h.fake.named("POST", r"^/webhooks/")]


async def say(h: DiscordHarness, who: str, text: str, thread: int, mention: bool = False) -> int:
    mid = next(_mids)
    handled = h.bot.messages_handled
    content = f"<@{BOT}> {text}" if mention else text
    roles = [CANON_ROLE] if who == "ana" else []
    h.message(
        message_payload(
            thread,
            WRITERS[who],
            content,
            mid=mid,
            name=who,
            roles=roles,
            mentions=[BOT] if mention else [],
        )
    )
    await h.wait_for(lambda: h.bot.messages_handled > handled)
    return mid


async def command(
    h: DiscordHarness, who: str, name: str, options: list[dict[str, Any]], channel: int
) -> None:
    before = len(followups(h))
    roles = [CANON_ROLE] if who == "ana" else []
    h.interaction(
        interaction_payload(name, options, roles=roles, channel=channel, uid=WRITERS[who], who=who)
    )
    await h.wait_for(lambda: len(followups(h)) > before)


def test_brainstorm_scenario_in_discord(app: App) -> None:
    async def go() -> None:
        async with discord_harness(make_bot(app)) as h:
            await command(
                h, "dana", "brainstorm", [{"name": "topic", "type": 3, "value": TOPIC}], CHANNEL
            )
            parent = h.fake.named("POST", rf"^/channels/{CHANNEL}/messages$")
            assert len(parent) == 1 and "Brainstorm:" in parent[0]["content"]
            created = [p for m, p, _ in h.fake.calls if m == "POST" and re.search(r"/threads$", p)]
            assert len(created) == 1
            opening = next(
                int(p.split("/")[2])
                for m, p, _ in h.fake.calls
                if m == "POST"
                and re.fullmatch(r"/channels/\d+/messages", p)
                and not p.startswith(f"/channels/{CHANNEL}/")
            )
            thread = opening
            h.thread_created(thread_create_payload(thread, CHANNEL))
            assert any("Canon in play:" in t for t in shown(h, thread))
            before = bible_files(app)

            dana_mid = await say(h, "dana", DANA_PITCH, thread)
            sam_mid = await say(h, "sam", SAM_PITCH, thread)
            p_sam = pitch_by_author(app, "sam")
            assert any(f"Pitch #{p_sam.id} from sam" in t for t in shown(h, thread))

            for uid, emoji, mid, added in (
                (WRITERS["lee"], "👍", sam_mid, True),
                (WRITERS["lee"], "🎉", sam_mid, True),
                (WRITERS["dana"], "🔥", sam_mid, True),
                (WRITERS["ana"], "👍", dana_mid, True),
                (WRITERS["ana"], "👍", dana_mid, False),
                (WRITERS["sam"], "👎", dana_mid, True),
                (BOT, "👀", dana_mid, True),
            ):
                name = next(n for n, i in WRITERS.items() if i == uid) if uid != BOT else "bot"
                h.reaction(reaction_payload(thread, mid, uid, emoji, who=name, added=added))
            await h.wait_for(lambda: h.bot.reactions_counted >= 5)
            assert sorted(pitch_by_author(app, "sam").voters) == ["dana", "lee"]
            assert pitch_by_author(app, "dana").votes == 0

            count = len(shown(h, thread))
            await say(h, "lee", "decision: the bell stays silent until episode 6", thread)
            await say(h, "sam", "who cut the rope, though?", thread)
            assert len(shown(h, thread)) == count  # recorded, not answered

            await say(h, "lee", "what if the bell rings by itself?", thread, mention=True)
            assert any(
                t.startswith(f"Building on sam's pitch #{p_sam.id}") for t in shown(h, thread)
            )

            await say(h, "dana", INJECTION, thread)
            canon_add = [
                {"name": "action", "type": 3, "value": "add"},
                {"name": "target", "type": 3, "value": str(p_sam.id)},
            ]
            await command(h, "dana", "canon", canon_add, thread)
            assert "canon editors" in followups(h)[-1]
            assert_nothing_promoted(app, before)

            await command(h, "ana", "wrap", [], thread)
            wrap = next(t for t in reversed(shown(h, thread)) if "Top pitches" in t)
            assert (
                f"#{p_sam.id} sam" in wrap and "2 votes" in wrap and "ana asked for /wrap" in wrap
            )

            await command(h, "ana", "canon", canon_add, thread)
            file = assert_promoted(app, p_sam, approver="ana")
            bs = app.room.services.ledger.log.brainstorms(SHOW)[0]
            assert bs.link == f"https://discord.com/channels/900/{thread}"
            await say(h, "ana", "canon undo", thread, mention=True)
            assert_undone(app, before, file)
            sent = h.fake.named("POST", r"^/channels/\d+/messages$")
            assert all(b["allowed_mentions"]["parse"] == [] for b in sent)

    run(go())
