"""On Slack and Discord a reply streams as a preview, and the final edit, which replaces it,
is the verified text: the draft's invented quote, unretrieved citation, echoed prompt and loop
are gone from what the room is left with. Real slack-bolt and discord.py code paths against
the local protocol fakes; the scripted model supplies the fabrications (routing and rendering
only: the real model's answers are tested in test_answers.py)."""

from __future__ import annotations

from bot.compose import App
from tests.conftest import run
from tests.discord_fake import BOT, CHANNEL, bot_maker, discord_harness, message_payload
from tests.slack_fake import BOT_USER, room_maker, slack_harness

DRAFT_ONLY = ("episode 6", "sails to the mainland", "characters/name.md", "You are", "Rules:")


def assert_final_is_verified(final: str, previews: list[str]) -> None:
    assert any("episode 6" in p for p in previews), previews  # the preview showed the draft
    for bit in DRAFT_ONLY:
        assert bit not in final, bit
    assert final.count("The town calls it an accident") == 1
    assert "Toby drowns at Drowned Quay while trying to dump a crate" in final
    assert "characters/toby_vell.md" in final


def test_slack_final_edit_is_the_verified_text(fabricating: App) -> None:
    async def go() -> list[dict]:
        make = room_maker(fabricating.room, interval=0.05)
        async with slack_harness(make) as h:
            event = {
                "type": "app_mention",
                "user": "UDANA",
                "text": f"<@{BOT_USER}> what happened to Toby?",
                "ts": "100.1",
                "channel": "C1",
            }
            assert await h.event(event, "EvV1") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1)
            return h.fake.named("chat.update")

    updates = run(go())
    placeholder_ts = updates[0]["ts"]
    texts = [u["text"] for u in updates if u["ts"] == placeholder_ts]
    assert_final_is_verified(texts[-1], texts[:-1])


def test_discord_final_edit_is_the_verified_text(fabricating: App) -> None:
    async def go() -> list[dict]:
        async with discord_harness(bot_maker(fabricating.room)) as h:
            h.message(
                message_payload(
                    CHANNEL, 555, f"<@{BOT}> what happened to Toby?", mid=111, mentions=[BOT]
                )
            )
            await h.wait_for(lambda: h.bot.replies_sent >= 1)
            return h.fake.named("PATCH", r"^/channels/\d+/messages/\d+$")

    edits = run(go())
    texts = [e["content"] for e in edits if "content" in e]
    assert_final_is_verified(texts[-1], texts[:-1])
