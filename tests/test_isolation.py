"""With more than one show on the machine, a DM or an unlinked channel reads no show until an
admin says which; an unknown show is not an index of the others; a thread's history belongs
to one show; no reply carries a server path. Through the real slack-bolt app and the room."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.messages import Message
from bot.compose import App
from memory.history import ConversationKey
from memory.ledger import Actor
from tests.conftest import SHOW, ask, command, ingest_other_show, message, run
from tests.slack_fake import BOT_USER, SlackHarness, room_maker, slack_harness

LANTERN = ("lantern", "maren", "toby", "harrowgate")  # words only the sample show's canon has


def dm(text: str, ts: str, user: str = "UDANA") -> dict[str, Any]:
    return {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": f"D-{user}",
    }


def shown(h: SlackHarness) -> list[str]:
    """Everything posted or edited into a channel, and every ephemeral reply."""
    calls = h.fake.named("chat.postMessage") + h.fake.named("chat.update")
    return [str(c.get("text", "")) for c in calls + h.fake.named("respond")]


def test_dms_and_unlinked_channels_read_no_show_until_an_admin_says_which(
    app: App, tmp_path: Path
) -> None:
    ingest_other_show(app, tmp_path)  # two shows now; WR_DEFAULT_SHOW is the sample

    async def go() -> tuple[list[str], list[str], list[str]]:
        async with slack_harness(room_maker(app.room)) as h:
            await h.event(dm("what happened to Toby?", "800.1"), "EvDm1")
            mention = {
                "type": "app_mention",
                "user": "USAM",
                "text": f"<@{BOT_USER}> who is Maren?",
                "ts": "800.2",
                "channel": "C-UNLINKED",
            }
            await h.event(mention, "EvUnlinked")
            await h.wait_for(lambda: h.slack.messages_handled >= 2)
            refused = shown(h)
            # A non-admin cannot give themselves a show; a bare name is not a writer; an
            # admin can give dana hers.
            await h.command("show lantern-line for <@USAM|sam>", user="USAM", channel="C1")
            await h.command("show lantern-line for dana", user="UADMIN", channel="C1")
            await h.command("show lantern-line for <@UDANA|dana>", user="UADMIN", channel="C1")
            await h.wait_for(lambda: len(h.fake.named("respond")) >= 3)
            answers = [str(r["text"]) for r in h.fake.named("respond")]
            await h.event(dm("what happened to Toby?", "800.3"), "EvDm2")
            await h.event(dm("what happened to Toby?", "800.4", user="USAM"), "EvDm3")
            # her own show is for her DMs: an unlinked channel, read by everyone in it, has none
            in_channel = {**mention, "user": "UDANA", "ts": "800.5"}
            await h.event(in_channel, "EvUnlinked2")
            await h.wait_for(lambda: h.slack.messages_handled >= 5)
            return refused, answers, [str(m["text"]) for m in h.fake.messages.values()]

    refused, answers, after = run(go())
    assert len(refused) == 2 and all("not linked to a show" in t for t in refused)
    assert not any(word in t.lower() for t in refused for word in LANTERN)
    assert "Only the room's admins" in answers[0]
    assert "Name the writer with an @mention" in answers[1] and "Nothing changed" in answers[1]
    assert "UDANA now works on lantern-line" in answers[2]
    dana_dm = [m for m in after if "Toby" in m]
    assert dana_dm and "drown" in " ".join(dana_dm)  # her DM reads the show she was given
    sam = [m for m in after if "not linked to a show" in m]
    # the two refusals before the admin acted, sam's DM after (his still reads no show), and
    # dana's mention in the unlinked channel
    assert len(sam) == 4 and not any("drown" in m for m in sam)


def test_with_one_show_the_default_still_serves_dms(app: App) -> None:
    async def go() -> list[str]:
        async with slack_harness(room_maker(app.room)) as h:
            await h.event(dm("what happened to Toby?", "810.1"), "EvOne")
            await h.wait_for(lambda: h.slack.messages_handled >= 1)
            return shown(h)

    assert "drown" in " ".join(run(go()))


def test_an_unknown_show_names_no_other_show_except_to_admins_and_the_terminal(
    app: App, tmp_path: Path
) -> None:
    ingest_other_show(app, tmp_path)
    state = app.room.services.state
    state.map_show("slack", "T1", "C-GONE", "no-such-show", "UADMIN")

    async def go() -> list[str]:
        async with slack_harness(room_maker(app.room)) as h:
            await h.command("bible search ferry", user="UDANA", channel="C-GONE")
            await h.command("bible search ferry", user="UADMIN", channel="C-GONE")
            await h.wait_for(lambda: len(h.fake.named("respond")) >= 2)
            return [str(r["text"]) for r in h.fake.named("respond")]

    writer, admin = run(go())
    assert "no bible for the show 'no-such-show'" in writer
    assert "lantern-line" not in writer and "dust-bowl" not in writer
    assert "lantern-line" in admin and "dust-bowl" in admin
    reply, _ = run(ask(app, message("who is Maren?", show="no-such-show")))
    assert "lantern-line" in reply.text  # the terminal is the machine's own operator


def test_a_thread_relinked_to_another_show_starts_afresh_there(app: App, tmp_path: Path) -> None:
    ingest_other_show(app, tmp_path)
    history = app.room.services.history
    state = app.room.services.state

    def said(text: str) -> Message:
        return Message(
            platform="slack",
            workspace="T1",
            channel="C5",
            thread="900.1",
            author="dana",
            author_id="UDANA",
            text=text,
            mentions_bot=True,
        )

    key = ConversationKey("slack", "T1", "C5", "900.1")
    state.map_show("slack", "T1", "C5", SHOW, "UADMIN")
    first, _ = run(ask(app, said("what happened to Toby?")))
    assert "drown" in first.text
    state.map_show("slack", "T1", "C5", "dust-bowl", "UADMIN")
    follow, _ = run(ask(app, said("and who else was there?")))
    assert [t.role for t in history.turns(key, SHOW)] == ["writer", "assistant"]
    assert [t.role for t in history.turns(key, "dust-bowl")] == ["writer", "assistant"]
    # The sample show's canon, quoted in this thread, is not the other show's context.
    assert not any(word in follow.text.lower() for word in LANTERN), follow.text


def test_no_canon_reply_carries_a_server_path(app: App) -> None:
    ledger = app.room.services.ledger

    editor = message("", author="ana")
    bs = ledger.log.open_brainstorm(editor.key, SHOW, "the bell", Actor("dana", "dana"))
    pitch = ledger.log.record(bs, Actor("sam", "sam"), "p", pitch="The bell is cracked")
    assert pitch is not None
    folder = app.bible.source_dir(SHOW)
    assert folder is not None

    async def go() -> list[str]:
        added = await command(app, editor, "canon", {"action": "add", "target": str(pitch.id)})
        path = folder / added.data["file"]  # type: ignore[index]
        path.write_text(path.read_text() + "\nA writer's own note.\n")
        refused = await command(app, editor, "canon", {"action": "undo"})
        path.unlink()
        done = await command(app, editor, "canon", {"action": "undo"})
        return [added.text, refused.text, done.text]

    texts = run(go())
    assert "edited after it was added" in texts[1]
    roots = {str(folder), str(folder.resolve()), str(app.settings.data_dir), "/tmp/"}
    assert not any(root in text for text in texts for root in roots), texts
