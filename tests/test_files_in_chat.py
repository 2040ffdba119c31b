"""Files and tables in replies, on each platform: Slack uploads into the reply's thread and
shows a table block, Discord attaches the files and shows the table's code block, the terminal
and `writersroom ask` save the files under the data dir's exports folder.

A test-only command gives the replies (routing and rendering are under test, not a model
feature): a CSV whose cells hold non-ASCII text, commas, quotes and line breaks; a
``.fountain`` scene that stands in for the text only where the text is long; a table whose
cells try to ping and link. The room has no model and no bible (the command needs neither).
Through the real Bolt app over loopback with the fake Web API (the real files_upload_v2
flow), discord.py's own parsing with the fake REST API (multipart bodies decoded), and the
terminal room and the CLI's ask in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from agents import render
from agents.commands import CommandSpec, Param, register, unregister
from agents.commands.spec import Call
from agents.messages import Attachment, Reply, Table
from bot import cli, exports
from bot.attachments import outgoing
from bot.compose import App
from bot.discord_render import split as discord_split
from bot.slack_files import MAX_COLUMNS, MAX_ROWS, posts, table_blocks
from bot.slack_render import mrkdwn
from bot.slack_render import split as slack_split
from bot.terminal import TerminalRoom
from tests.conftest import consoles, modelless_app, run
from tests.discord_fake import (
    BOT,
    CHANNEL,
    DiscordHarness,
    bot_maker,
    discord_harness,
    interaction_payload,
    message_payload,
    thread_create_payload,
)
from tests.slack_fake import SlackHarness, mention, room_maker, slack_harness

# ---- what the test command replies ----------------------------------------------------------
CSV = (
    'shot,description,note\r\n1,"Wide: the quay, at dusk","Nell says ""stop""\nand leaves"\r\n'
    "2,Close — Maren’s hands,café 中文 ✨\r\n3,Insert: the bell,<!channel> @everyone\r\n"
).encode()
SCENE = "".join(
    f"INT. LIGHTHOUSE - NIGHT {i}\n\nNell climbs the stair; the lamp is out. “Who’s there?”\n\n"
    for i in range(90)
)
FOUNTAIN = SCENE.encode()
SHORT = "The scene, in brief: Nell finds the lamp out. <!here>"
LONG = SCENE + "THE LAST LINE OF THE SCENE"
BRIEF = "**Scene 3** is attached as a Fountain file (90 beats). <!channel> @everyone"
TABLE = Table(
    title="Shots for S1E04",
    columns=["#", "Shot", "Note"],
    rows=[
        ["1", "Wide: the quay, at dusk", "<!channel> look"],
        ["2", "Close — Maren’s hands", "@everyone <https://evil.example|click> & more"],
        ["3", "Insert: the bell", ""],
    ],
)
TABLE_BRIEF = "**Shot list** for S1E04: 3 shots. <!here>"


def csv_file() -> Attachment:
    return Attachment(name="shots-s1e04.csv", mime="text/csv", data=CSV, title="Shots, S1E04")


def fountain_file() -> Attachment:
    return Attachment(
        name="scene-3.fountain",
        mime="text/plain",
        data=FOUNTAIN,
        title="Scene 3",
        when_long=True,
    )


def reply_for(mode: str) -> Reply:
    if mode == "table":
        return Reply(
            kind="shots",
            text=render.table(TABLE),
            table=TABLE,
            brief=TABLE_BRIEF,
            files=[csv_file()],
        )
    text = LONG if mode == "long" else SHORT
    return Reply(kind="scene", text=text, brief=BRIEF, files=[csv_file(), fountain_file()])


async def _files_reply(call: Call) -> Reply:
    return reply_for(str(call.arg("mode")))


async def _private_reply(call: Call) -> Reply:
    return reply_for("short")


FILETEST = CommandSpec(
    name="filetest",
    summary="A reply with files and a table (test only).",
    params=(Param("mode", "which reply", choices=("short", "long", "table")),),
    examples=("filetest short",),
    handler=_files_reply,
    needs_show=False,
    slow=True,  # a placeholder first, so that streamed replies end in an edit
)
FILEPRIVATE = CommandSpec(
    name="fileprivate",
    summary="A private reply with files (test only).",
    params=(),
    examples=("fileprivate",),
    handler=_private_reply,
    needs_show=False,
    private=True,
)


@pytest.fixture
def commands() -> Iterator[None]:
    register(FILETEST)
    register(FILEPRIVATE)
    try:
        yield
    finally:
        unregister(FILETEST.name)
        unregister(FILEPRIVATE.name)


@pytest.fixture
def room(tmp_path: Path, commands: None) -> Iterator[App]:
    app = modelless_app(tmp_path)
    yield app
    app.close()


# ---- the shared rule: which files go, and what text goes with them ---------------------------
def test_when_long_files_go_only_with_text_too_long_for_one_message() -> None:
    short = outgoing(reply_for("short"), slack_split)
    assert short.parts == [SHORT] and not short.brief
    assert [f.name for f in short.files] == ["shots-s1e04.csv"]  # no fountain: the text says it
    long = outgoing(reply_for("long"), slack_split)
    assert long.brief and long.parts == [BRIEF]
    assert [f.name for f in long.files] == ["shots-s1e04.csv", "scene-3.fountain"]
    # without a brief nothing may be lost: the parts stay, and the file goes too
    bare = outgoing(reply_for("long").model_copy(update={"brief": None}), discord_split)
    assert len(bare.parts) > 1 and not bare.brief and len(bare.files) == 2
    # what counts is the platform's own split: 2,000 on Discord, 3,000 on Slack
    mid = reply_for("short").model_copy(update={"text": "word " * 500})
    assert len(outgoing(mid, slack_split).files) == 1
    assert len(outgoing(mid, discord_split).files) == 2


def test_the_table_text_is_one_code_block_that_survives_splitting() -> None:
    text = render.table(TABLE)
    assert text.startswith("**Shots for S1E04**\n```\n") and text.endswith("\n```")
    assert text.count("```") == 2
    big = Table(title="Many", columns=["a", "b"], rows=[[f"{i}", "x" * 60] for i in range(80)])
    parts = discord_split(render.table(big))
    assert len(parts) > 1
    assert all(p.count("```") == 2 and len(p) <= 2000 for p in parts[1:])  # closed, reopened
    # a cell cannot close the block: no line of the block starts a fence
    tricky = Table(title="t", columns=["a"], rows=[["```python"], ["x\n```"]])
    inner = render.table(tricky).split("\n")[2:-1]
    assert not any(line.lstrip().startswith("```") for line in inner)


def test_slack_table_block_has_the_header_first_and_escaped_cells() -> None:
    blocks = table_blocks(TABLE, mrkdwn(TABLE_BRIEF))
    assert blocks is not None
    section, table = blocks
    assert section["text"]["text"] == "*Shot list* for S1E04: 3 shots. &lt;!here&gt;"
    rows = [[c["text"] for c in row] for row in table["rows"]]
    assert all(c["type"] == "raw_text" for row in table["rows"] for c in row)
    assert rows[0] == ["#", "Shot", "Note"]
    assert rows[1][2] == "&lt;!channel&gt; look"
    assert rows[2][2] == "@everyone &lt;https://evil.example|click&gt; &amp; more"
    assert rows[3][2] == "–"  # Slack takes no empty cell
    assert "<" not in json.dumps(blocks)
    # beyond Slack's limits the text's code block shows the table instead
    tall = Table(title="t", columns=["a"], rows=[[str(i)] for i in range(MAX_ROWS)])
    wide = Table(title="t", columns=[str(i) for i in range(MAX_COLUMNS + 1)], rows=[])
    assert table_blocks(tall, "x") is None and table_blocks(wide, "x") is None
    fits = Table(title="t", columns=["a"], rows=[[str(i)] for i in range(MAX_ROWS - 1)])
    assert table_blocks(fits, "x") is not None
    too_tall = reply_for("table").model_copy(update={"table": tall, "text": render.table(tall)})
    parts, _ = posts(too_tall, mrkdwn)
    assert all(p.blocks is None for p in parts) and "```" in parts[0].text


# ---- Slack ---------------------------------------------------------------------------------


def no_ping(h: SlackHarness) -> None:
    """Nothing the bot posted (text or blocks) holds Slack's control characters unescaped."""
    sent = [args for name, args in h.fake.calls if name.startswith("chat.")]
    sent += [args for name, args in h.fake.calls if name == "respond"]
    for args in sent:
        for key in ("text", "blocks"):
            shown = json.dumps(args.get(key)) if key == "blocks" else str(args.get(key) or "")
            assert "<!" not in shown and "<http" not in shown and "<@" not in shown, shown


def uploads_of(h: SlackHarness) -> list[tuple[str, bytes | None, str | None, str | None]]:
    return [(u.filename, u.data, u.channel, u.thread_ts) for u in h.fake.files()]


def test_slack_short_reply_posts_its_text_and_uploads_the_csv_into_the_thread(room: App) -> None:
    async def go() -> SlackHarness:
        async with slack_harness(room_maker(room.room)) as h:
            assert await h.event(mention("/filetest short", "500.1"), "EvF1") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1)
            return h

    h = run(go())
    assert h.fake.shown_in("500.1") == [mrkdwn(SHORT)]
    assert uploads_of(h) == [("shots-s1e04.csv", CSV, "C1", "500.1")]
    assert h.fake.files()[0].title == "Shots, S1E04"
    # the fountain file repeats a text that fits one message: never asked for
    asked = [a["filename"] for a in h.fake.named("files.getUploadURLExternal")]
    assert asked == ["shots-s1e04.csv"]
    no_ping(h)


def test_slack_long_reply_posts_the_brief_and_the_fountain_file(room: App) -> None:
    async def go() -> SlackHarness:
        async with slack_harness(room_maker(room.room)) as h:
            assert await h.event(mention("/filetest long", "501.1"), "EvF2") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1)
            return h

    h = run(go())
    shown = h.fake.shown_in("501.1")
    assert shown == [mrkdwn(BRIEF)]  # one message: the brief, not the many parts
    assert "&lt;!channel&gt;" in shown[0] and "*Scene 3*" in shown[0]
    assert not any("THE LAST LINE" in str(a.get("text")) for _, a in h.fake.calls)
    assert uploads_of(h) == [
        ("shots-s1e04.csv", CSV, "C1", "501.1"),
        ("scene-3.fountain", FOUNTAIN, "C1", "501.1"),
    ]
    no_ping(h)


def test_slack_table_is_a_table_block_under_the_brief(room: App) -> None:
    """Both paths: a streamed reply (the placeholder edited into blocks) and `/wr`."""

    async def go() -> SlackHarness:
        async with slack_harness(room_maker(room.room)) as h:
            assert await h.event(mention("/filetest table", "502.1"), "EvF3") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1)
            assert await h.command("filetest table") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 2)
            return h

    h = run(go())
    streamed = [u for u in h.fake.named("chat.update") if u.get("blocks")]
    assert len(streamed) == 1
    posted = [p for p in h.fake.named("chat.postMessage") if p.get("blocks")]
    assert len(posted) == 1 and posted[0].get("thread_ts") is None  # /wr: in the channel
    for final in (streamed[0], posted[0]):
        section, table = final["blocks"]
        assert section["type"] == "section" and "*Shot list* for S1E04" in section["text"]["text"]
        assert table["type"] == "table"
        assert [c["text"] for c in table["rows"][0]] == ["#", "Shot", "Note"]
        assert table["rows"][1][2]["text"] == "&lt;!channel&gt; look"
        assert len(table["rows"]) == 4
        assert "```" in final["text"]  # the fallback: the reply's text, the table monospaced
    assert "dana asked" in posted[0]["blocks"][0]["text"]["text"]
    # the CSV hangs off each reply: in the streamed one's thread, in the /wr reply's own
    command_ts = next(
        ts for ts, m in h.fake.messages.items() if m["blocks"] and m["thread_ts"] is None
    )
    assert [(u.thread_ts, u.data) for u in h.fake.files()] == [("502.1", CSV), (command_ts, CSV)]
    no_ping(h)


@pytest.mark.parametrize(
    ("method", "code", "words"),
    [
        ("files.completeUploadExternal", "missing_scope", "files:write"),
        ("files.getUploadURLExternal", "not_in_channel", "not a member of this channel"),
    ],
)
def test_slack_failed_upload_keeps_the_reply_and_tells_the_writer(
    room: App, method: str, code: str, words: str
) -> None:
    async def go() -> SlackHarness:
        async with slack_harness(room_maker(room.room)) as h:
            h.fake.errors[method] = code
            assert await h.event(mention("/filetest long", "503.1"), "EvF4" + code) == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1)
            return h

    h = run(go())
    shown = h.fake.shown_in("503.1")
    assert shown[0] == mrkdwn(BRIEF)  # the reply is there
    assert len(shown) == 2  # and one message naming both missing files, with the reason
    assert "I could not attach *shots-s1e04.csv*" in shown[1]
    assert "*scene-3.fountain*" in shown[1] and words in shown[1]
    assert h.fake.files() == []
    assert "xoxb" not in shown[1]
    no_ping(h)


def test_slack_private_reply_attaches_nothing_to_the_channel(room: App) -> None:
    async def go() -> SlackHarness:
        async with slack_harness(room_maker(room.room)) as h:
            assert await h.command("fileprivate") == 200
            await h.wait_for(lambda: len(h.fake.named("respond")) >= 2)
            await asyncio.sleep(0.3)
            return h

    h = run(go())
    said = [r["text"] for r in h.fake.named("respond")]
    assert len(said) == 2 and said[0] == mrkdwn(SHORT)
    assert "Not attached: *shots-s1e04.csv*, *scene-3.fountain*" in said[1]
    assert all(r["response_type"] == "ephemeral" for r in h.fake.named("respond"))
    assert h.fake.named("files.getUploadURLExternal") == []
    assert h.fake.named("chat.postMessage") == []
    no_ping(h)


# ---- Discord -------------------------------------------------------------------------------
def channel_posts(h: DiscordHarness, channel: int | str) -> list[dict[str, Any]]:
    return h.fake.named("POST", rf"^/channels/{channel}/messages$")


def thread_of_reply(h: DiscordHarness) -> int:
    created = h.fake.named("POST", rf"^/channels/{CHANNEL}/messages/\d+/threads$")
    assert created
    return int(
        next(
            p.split("/")[2]
            for m, p, _ in h.fake.calls
            if m == "POST"
            and p.startswith("/channels/")
            and not p.startswith(f"/channels/{CHANNEL}/")
        )
    )


def no_discord_ping(h: DiscordHarness) -> None:
    """Every message the bot sent or edited, files or not, has mentions switched off."""
    sent = [b for m, p, b in h.fake.calls if m in ("POST", "PATCH") and "/messages" in p]
    sent = [b for b in sent if "content" in b or "attachments" in b]
    assert sent
    assert all(b["allowed_mentions"]["parse"] == [] for b in sent), sent


def test_discord_mention_gets_text_then_the_csv_in_the_thread(room: App) -> None:
    async def go() -> tuple[DiscordHarness, int]:
        async with discord_harness(bot_maker(room.room)) as h:
            h.message(message_payload(CHANNEL, 555, f"<@{BOT}> /filetest short", mentions=[BOT]))
            await h.wait_for(lambda: h.bot.replies_sent >= 1)
            thread = thread_of_reply(h)
            h.thread_created(thread_create_payload(thread, CHANNEL))
            h.message(message_payload(thread, 555, f"<@{BOT}> /filetest long", mentions=[BOT]))
            await h.wait_for(lambda: h.bot.replies_sent >= 2)
            return h, thread

    h, thread = run(go())
    files = [(f.filename, f.data) for f in h.fake.files_in(str(thread))]
    assert files == [
        ("shots-s1e04.csv", CSV),  # the short reply: its text, and the CSV only
        ("shots-s1e04.csv", CSV),  # the long one: the brief, the CSV and the scene
        ("scene-3.fountain", FOUNTAIN),
    ]
    shown = h.shown_in(str(thread))
    assert SHORT in shown and BRIEF in shown
    assert not any("THE LAST LINE" in text for text in shown)
    with_files = [b for b in channel_posts(h, thread) if b.get("attachments")]
    assert [a["filename"] for b in with_files for a in b["attachments"]] == [
        "shots-s1e04.csv",
        "shots-s1e04.csv",
        "scene-3.fountain",
    ]
    assert with_files[0]["attachments"][0]["description"] == "Shots, S1E04"
    no_discord_ping(h)


def test_discord_command_table_shows_as_a_code_block_and_files_follow(room: App) -> None:
    async def go() -> DiscordHarness:
        async with discord_harness(bot_maker(room.room)) as h:
            h.interaction(
                interaction_payload("filetest", [{"name": "mode", "type": 3, "value": "table"}])
            )
            await h.wait_for(lambda: h.bot.replies_sent >= 1)
            return h

    h = run(go())
    texts = [b["content"] for b in channel_posts(h, CHANNEL) if b.get("content")]
    assert len(texts) == 1 and "dana asked for /filetest" in texts[0]
    assert render.table(TABLE) in texts[0] and texts[0].count("```") == 2
    assert [(f.filename, f.data) for f in h.fake.files_in(str(CHANNEL))] == [
        ("shots-s1e04.csv", CSV)
    ]
    no_discord_ping(h)


def test_discord_private_reply_attaches_its_files_for_the_asker_only(room: App) -> None:
    async def go() -> DiscordHarness:
        async with discord_harness(bot_maker(room.room)) as h:
            h.interaction(interaction_payload("fileprivate", []))
            await h.wait_for(lambda: len(h.fake.files) >= 1)
            await asyncio.sleep(0.3)
            return h

    h = run(go())
    # a short text: the CSV goes, the scene file that would repeat the text does not
    assert [(f.filename, f.data) for f in h.fake.files] == [("shots-s1e04.csv", CSV)]
    assert all(f.path.startswith("/webhooks/") for f in h.fake.files)
    webhooks = h.fake.named("POST", r"^/webhooks/")
    assert all(w.get("flags") == 64 for w in webhooks)  # ephemeral, every one
    assert channel_posts(h, CHANNEL) == []


def test_discord_refused_file_keeps_the_reply_and_tells_the_writer(room: App) -> None:
    async def go() -> DiscordHarness:
        async with discord_harness(bot_maker(room.room)) as h:
            h.fake.refuse_files = 413
            h.interaction(
                interaction_payload("filetest", [{"name": "mode", "type": 3, "value": "long"}])
            )
            await h.wait_for(lambda: h.bot.replies_sent >= 1)
            return h

    h = run(go())
    texts = [b.get("content", "") for b in channel_posts(h, CHANNEL)]
    assert BRIEF in texts[0]
    assert "I could not attach `shots-s1e04.csv`" in texts[-1]
    assert "`scene-3.fountain`" in texts[-1] and "larger than this server" in texts[-1]
    assert h.fake.files == []
    no_discord_ping(h)


# ---- the terminal and `writersroom ask` -------------------------------------------------------
def saved_paths(text: str) -> list[Path]:
    return [Path(line.removeprefix("saved: ")) for line in text.splitlines() if "saved: " in line]


def test_terminal_saves_every_file_under_exports_and_never_overwrites(
    room: App, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    out, out_buf, err, err_buf = consoles(160)
    term = TerminalRoom(
        room.room, show="", writer="dana", thread="t", out=out, err=err, exports=folder
    )
    run(term.send("/filetest short"))
    run(term.send("/filetest short"))
    paths = saved_paths(out_buf.getvalue())
    # the terminal has no message limit: it shows the text and saves every file
    assert len(paths) == 4 and len(set(paths)) == 4
    assert all(p.parent == folder and p.is_file() for p in paths)
    assert [p.read_bytes() for p in paths] == [CSV, FOUNTAIN, CSV, FOUNTAIN]
    assert paths[0].name.endswith("-shots-s1e04.csv") and paths[1].suffix == ".fountain"
    assert sorted(os.listdir(folder)) == sorted(p.name for p in paths)  # no temporary left
    assert "Nell finds the lamp out" in out_buf.getvalue() and err_buf.getvalue() == ""


def test_terminal_shows_a_table_as_a_table_under_the_brief(room: App, tmp_path: Path) -> None:
    out, out_buf, err, _ = consoles(160)
    term = TerminalRoom(
        room.room, show="", writer="dana", thread="t", out=out, err=err, exports=tmp_path / "e"
    )
    reply = run(term.send("/filetest table"))
    shown = out_buf.getvalue()
    assert reply.table == TABLE
    assert "Shot list for S1E04: 3 shots. <!here>" in shown  # markup-free, as written
    assert "Shots for S1E04" in shown and "<!channel> look" in shown
    assert "│" in shown or "|" in shown
    assert "```" not in shown and "-+-" not in shown  # not the code block
    assert len(saved_paths(shown)) == 1


def test_terminal_says_when_a_file_cannot_be_saved_and_leaves_nothing(
    room: App, tmp_path: Path
) -> None:
    blocked = tmp_path / "exports"
    blocked.write_text("a file where the folder should be")
    out, out_buf, err, err_buf = consoles(160)
    term = TerminalRoom(
        room.room, show="", writer="dana", thread="t", out=out, err=err, exports=blocked
    )
    run(term.send("/filetest short"))
    assert "Nell finds the lamp out" in out_buf.getvalue()  # the reply is shown all the same
    assert "could not save shots-s1e04.csv" in err_buf.getvalue()
    assert saved_paths(out_buf.getvalue()) == []
    assert blocked.read_text() == "a file where the folder should be"


def test_export_names_never_repeat_and_a_failed_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    when = datetime(2026, 11, 24, 0, 49, 43)
    assert exports.export_name("shots.csv", when) == "20261124-004943-shots.csv"
    assert exports.export_name("shots.csv", when, 2) == "20261124-004943-shots-2.csv"
    first = exports.save(tmp_path, csv_file(), when)
    second = exports.save(tmp_path, csv_file().model_copy(update={"data": b"new"}), when)
    assert (first.name, second.name) == (
        "20261124-004943-shots-s1e04.csv",
        "20261124-004943-shots-s1e04-2.csv",
    )
    assert first.read_bytes() == CSV and second.read_bytes() == b"new"

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    folder = tmp_path / "full"
    monkeypatch.setattr(exports.os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        exports.save(folder, csv_file(), when)
    assert list(folder.iterdir()) == []  # neither the export nor its temporary file


def ask_args(*text: str, json_out: bool = False) -> argparse.Namespace:
    return argparse.Namespace(
        text=list(text), writer="dana", thread="t", as_of=None, json=json_out, file=None
    )


def cli_consoles() -> tuple[Console, Console]:
    """Consoles on the (captured) stdout and stderr, as `writersroom` makes them."""
    return (
        Console(file=sys.stdout, soft_wrap=True, highlight=False, width=160),
        Console(file=sys.stderr, soft_wrap=True, highlight=False, width=160),
    )


def test_ask_json_keeps_stdout_json_and_says_where_files_went_on_stderr(
    room: App, capsys: pytest.CaptureFixture[str]
) -> None:
    out, err = cli_consoles()
    assert run(cli._ask(room, ask_args("/filetest", "long", json_out=True), "", out, err)) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)  # stdout is the JSON alone
    assert data["kind"] == "scene" and data["text"] == LONG
    paths = saved_paths(captured.err)
    assert [p.read_bytes() for p in paths] == [CSV, FOUNTAIN]
    assert all(p.parent == room.settings.exports_dir for p in paths)


def test_ask_prints_the_reply_and_the_paths_and_fails_when_it_cannot_save(
    room: App, capsys: pytest.CaptureFixture[str]
) -> None:
    out, err = cli_consoles()
    assert run(cli._ask(room, ask_args("/filetest", "short"), "", out, err)) == 0
    captured = capsys.readouterr()
    assert "Nell finds the lamp out" in captured.out
    assert [p.read_bytes() for p in saved_paths(captured.out)] == [CSV, FOUNTAIN]
    assert captured.err == ""

    assert run(cli._ask(room, ask_args("/filetest", "table"), "", out, err)) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Shot list for S1E04: 3 shots. <!here>\n")  # the brief
    assert "<!channel> look" in captured.out and "```" not in captured.out  # a table, not text
    assert len(saved_paths(captured.out)) == 1

    folder = room.settings.exports_dir
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
    folder.write_text("in the way")  # the exports folder cannot be made
    assert run(cli._ask(room, ask_args("/filetest", "short"), "", out, err)) == cli.EXIT_FAIL
    captured = capsys.readouterr()
    assert "Nell finds the lamp out" in captured.out  # the answer is still printed
    assert "could not save shots-s1e04.csv" in captured.err
    assert saved_paths(captured.out) == []
    assert folder.read_text() == "in the way"
