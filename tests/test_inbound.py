"""Files writers attach for the bot to read: a ``.fountain`` scene for ``doctor``, a script
to import. The adapters download the one file (its declared size checked first), the core
reads it as text and gives it to the command whose free text is empty.

``text_of`` is tested on its own (encodings, binaries, empty and oversize files). A test-only
command with a free-text parameter echoes the length and first line of what it got, through
the real Bolt app with the fake Web API (which serves shared files only to the bot token),
discord.py's own parsing with the fake REST API and CDN, and the terminal room. The room has
no model and no bible (the command needs neither).
"""

from __future__ import annotations

import codecs
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.commands import CommandSpec, Param, addressed_command, get_command, register, unregister
from agents.commands.registry import parse_command
from agents.commands.spec import Call
from agents.errors import BadRequest
from agents.inbound import one_file, text_of, with_attached
from agents.messages import Inbound, Reply
from bot import cli
from bot.compose import App
from bot.slack_download import trusted_host
from bot.terminal import TerminalRoom
from tests.conftest import consoles, modelless_app, run
from tests.discord_fake import (
    BOT,
    CHANNEL,
    DiscordHarness,
    bot_maker,
    discord_harness,
    message_payload,
)
from tests.slack_fake import BOT_TOKEN, SlackHarness, mention, room_maker, slack_harness

LIMIT = 4096  # the test room's WR_MAX_UPLOAD_BYTES
SCENE = (
    "INT. LIGHTHOUSE – NIGHT\r\n\r\nMaren climbs the stair. “Who’s there?”\r\n\r\n"
    "MAREN\r\nCaf\u00e9 first, then the lamp.\r\n"
)
FIRST = "INT. LIGHTHOUSE – NIGHT"
READ = SCENE.replace("\r\n", "\n").strip()  # what the command is given
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
RAN: list[str] = []  # what the echo command was given, run by run


# ---- reading a file as text -------------------------------------------------------------------
def inbound(data: bytes, name: str = "scene.fountain", size: int | None = None) -> Inbound:
    return Inbound(name=name, mime="", size=len(data) if size is None else size, data=data)


def refusal(file: Inbound, max_bytes: int = LIMIT) -> str:
    with pytest.raises(BadRequest) as caught:
        text_of(file, max_bytes)
    return str(caught.value)


@pytest.mark.parametrize(
    "data",
    [
        SCENE.encode("utf-8"),
        codecs.BOM_UTF8 + SCENE.encode("utf-8"),
        codecs.BOM_UTF16_LE + SCENE.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + SCENE.encode("utf-16-be"),
        SCENE.encode("utf-16-le"),  # Windows tools save UTF-16 without a BOM too
        SCENE.encode("utf-16-be"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be", "utf-16-le-no-bom", "utf-16-be-no-bom"],
)
def test_text_of_reads_utf8_and_utf16(data: bytes) -> None:
    text = text_of(inbound(data), LIMIT)
    assert text == SCENE.replace("\r\n", "\n")
    assert "\ufeff" not in text and "\r" not in text  # no BOM, no carriage returns


def test_text_of_reads_windows_1252_only_when_that_gives_text() -> None:
    word = "Nell says “stop” — it’s the café’s bell…"
    assert text_of(inbound(word.encode("cp1252")), LIMIT) == word
    # bytes Windows-1252 cannot read, or reads as control characters, are not text
    assert "not text" in refusal(inbound(b"INT. HOUSE\x81\x8d - DAY"))
    assert "not text" in refusal(inbound(b"INT. HOUSE \x1b[31m\xff - DAY"))


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (PNG, "an image (PNG)"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "an image (JPEG)"),
        (PDF, "a PDF"),
        (b"PK\x03\x04\x14\x00\x06\x00word/document.xml", "a ZIP archive"),
        (b"INT. HOUSE - DAY\x00\x00\x00\x01\x02 more", "a binary file"),
        # NULs on both sides: not UTF-16 text
        ("INT. HOUSE - DAY".encode("utf-32-le"), "a binary file"),
    ],
    ids=["png", "jpeg", "pdf", "docx", "nul", "utf32"],
)
def test_text_of_refuses_binaries_saying_what_they_look_like(data: bytes, what: str) -> None:
    said = refusal(inbound(data, name="draft.bin"))
    assert said.startswith(f"draft.bin looks like {what}")
    assert "attach a .fountain, .txt or .md file, or paste the text." in said
    assert said.endswith("Nothing was saved.")


def test_text_of_refuses_empty_oversize_and_undownloaded_files() -> None:
    assert refusal(inbound(b"")).startswith("scene.fountain is empty")
    assert refusal(inbound(codecs.BOM_UTF8 + b" \r\n\t")).startswith("scene.fountain is empty")
    # too big by the platform's word (nothing downloaded), or by the bytes themselves
    declared = refusal(Inbound(name="s.txt", size=10_000, error="it is too big"))
    assert declared.startswith(
        "s.txt is 10,000 bytes; the room reads attached files up to 4,096 bytes."
    )
    assert "Nothing was saved." in declared
    assert refusal(inbound(b"x" * (LIMIT + 1), size=0)).startswith("scene.fountain is 4,097 bytes")
    assert text_of(inbound(b"x" * LIMIT), LIMIT) == "x" * LIMIT  # the limit itself is fine
    failed = Inbound(name="s.txt", size=10, error="it could not be downloaded from Slack")
    assert refusal(failed) == (
        "I could not read s.txt: it could not be downloaded from Slack. Nothing was saved."
    )


def test_one_file_per_command_and_the_file_fills_only_empty_free_text() -> None:
    assert one_file([], LIMIT) is None
    two = [inbound(b"a", "a.txt"), inbound(b"b", "b.txt")]
    with pytest.raises(BadRequest, match=r"You attached 2 files \(a.txt, b.txt\)"):
        one_file(two, LIMIT)
    spec = get_command("doctor")  # its TEXT reads a file
    assert with_attached(spec, {}, "A keeper") == {"text": "A keeper"}
    with pytest.raises(BadRequest, match="takes one or the other"):
        with_attached(spec, {"text": "typed"}, "A keeper")
    with pytest.raises(BadRequest, match="'vote' does not read attached files"):
        with_attached(get_command("vote"), {}, "text")  # its free text is a number
    for short in ("look", "logline", "brainstorm"):  # a name, a premise, a topic: no files
        with pytest.raises(BadRequest, match=f"'{short}' does not read attached files"):
            with_attached(get_command(short), {}, "five megabytes of script")
    # translate's file is its TEXT, never its LANGUAGE
    _, args = parse_command("/translate fr", "INT. QUAY - NIGHT")
    assert args["language"] == "fr" and args["text"] == "INT. QUAY - NIGHT"
    # '@bot doctor' with a file is the command, though doctor is not said to the bot otherwise
    found = addressed_command("doctor", "INT. QUAY - NIGHT")
    assert found is not None and found[0].name == "doctor" and found[1]["text"]
    assert addressed_command("doctor") is None


def test_slack_sends_the_token_only_to_slack_hosts() -> None:
    api = "http://127.0.0.1:5000/api/"
    assert trusted_host("https://files.slack.com/files-pri/T1-F1/download/a.txt", api)
    assert trusted_host("http://127.0.0.1:5000/files-pri/x", api)  # the Web API's own host
    assert not trusted_host("http://files.slack.com/x", api)  # not over https
    assert not trusted_host("https://files.slack.com.evil.example/x", api)
    assert not trusted_host("https://evil.example/files.slack.com", api)
    assert not trusted_host("http://127.0.0.1:5001/x", api)


# ---- through the platforms --------------------------------------------------------------------
async def _echo(call: Call) -> Reply:
    text = str(call.arg("text"))
    RAN.append(text)
    return Reply(kind="echo", text=f"got {len(text)} chars; first line: {text.splitlines()[0]}")


ECHO = CommandSpec(
    name="echotext",
    summary="Say how much text it was given (test only).",
    params=(Param("text", "The text.", rest=True, reads_file=True),),
    examples=("echotext hello",),
    handler=_echo,
    needs_show=False,
    addressable=True,
)
WANT = f"got {len(READ)} chars; first line: {FIRST}"


@pytest.fixture
def room(tmp_path: Path) -> Iterator[App]:
    register(ECHO)
    RAN.clear()
    # the message limit is shorter than a file may be
    app = modelless_app(tmp_path, max_upload_bytes=LIMIT, max_message_chars=1000)
    try:
        yield app
    finally:
        app.close()
        unregister(ECHO.name)


def slack_said(h: SlackHarness) -> list[str]:
    return [str(a.get("text")) for n, a in h.fake.calls if n in ("chat.postMessage", "chat.update")]


def no_token(caplog: pytest.LogCaptureFixture, *shown: str) -> None:
    assert BOT_TOKEN not in caplog.text
    assert all(BOT_TOKEN not in text for text in shown)
    ours = [r for r in caplog.records if r.name.startswith(("bot", "agents", "slack"))]
    assert not any("files-pri" in r.getMessage() for r in ours)  # nor a file's address


def test_slack_mention_with_a_fountain_file_runs_the_command_on_its_text(
    room: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def go() -> SlackHarness:
        async with slack_harness(room_maker(room.room)) as h:
            shared = h.fake.share("scene.fountain", SCENE.encode())
            event = {**mention("echotext", "600.1"), "files": [shared]}
            assert await h.event(event, "EvIn1") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1)
            # a direct message with a file: Slack's file_share subtype is a message too
            shared = h.fake.share("scene.txt", codecs.BOM_UTF8 + SCENE.encode())
            dm = {
                "type": "message",
                "subtype": "file_share",
                "channel_type": "im",
                "user": "UDANA",
                "text": "echotext",
                "ts": "601.1",
                "channel": "D1",
                "files": [shared],
            }
            assert await h.event(dm, "EvIn2") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 2)
            return h

    h = run(go())
    assert h.fake.shown_in("600.1") == [WANT]
    assert WANT in slack_said(h)[-1]
    assert RAN == [READ] * 2
    assert h.fake.downloads == [("FW001", f"Bearer {BOT_TOKEN}"), ("FW002", f"Bearer {BOT_TOKEN}")]
    no_token(caplog, json.dumps([a for _, a in h.fake.calls], default=str))


def test_slack_refuses_binary_oversize_and_several_files_and_the_command_never_runs(
    room: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def go() -> SlackHarness:
        async with slack_harness(room_maker(room.room)) as h:
            png = h.fake.share("still.png", PNG, mimetype="image/png")
            big = h.fake.share("pilot.fountain", b"INT. A - DAY\n", size=3 * LIMIT)
            two = [h.fake.share("a.fountain", b"A"), h.fake.share("b.fountain", b"B")]
            elsewhere = {
                **h.fake.share("c.fountain", b"C"),
                "url_private_download": "https://evil.example/c",
            }
            words = {
                "700.1": ("echotext", [png]),
                "701.1": ("echotext", [big]),
                "702.1": ("echotext", two),
                "703.1": ("echotext", [elsewhere]),
                "704.1": ("what do you make of this?", [h.fake.share("d.txt", b"D")]),
            }
            for n, (ts, (text, files)) in enumerate(words.items(), start=1):
                assert await h.event({**mention(text, ts), "files": files}, f"EvBad{n}") == 200
                await h.wait_for(lambda: h.slack.replies_sent >= n)  # noqa: B023 (awaited here)
            return h

    h = run(go())
    assert RAN == []  # the command never ran
    shown = {
        ts: " ".join(h.fake.shown_in(ts)) for ts in ("700.1", "701.1", "702.1", "703.1", "704.1")
    }
    assert "still.png looks like an image (PNG), not text" in shown["700.1"]
    assert "attach a .fountain, .txt or .md file, or paste the text" in shown["700.1"]
    assert (
        "pilot.fountain is 12 KB; the room reads attached files up to 4,096 bytes" in shown["701.1"]
    )
    assert "You attached 2 files (a.fountain, b.fountain)" in shown["702.1"]
    assert "not on Slack's own file server" in shown["703.1"]
    # a question that comes with a file is answered as a question; the file is left alone
    assert "only with a command" not in shown["704.1"] and "d.txt" not in shown["704.1"]
    assert all("Nothing was saved." in shown[ts] for ts in ("700.1", "701.1", "702.1", "703.1"))
    # only the image and the question's file were fetched: not the big one, not the two,
    # and nothing from another host
    assert [d[0] for d in h.fake.downloads] == ["FW001", "FW006"]
    assert not any("echo" in t or "got " in t for t in shown.values())
    no_token(caplog, *shown.values())


def test_slack_without_files_read_tells_the_writer_what_is_missing(room: App) -> None:
    """A token the file host does not take (no files:read): a sign-in page, not the file."""

    async def go() -> SlackHarness:
        async with slack_harness(room_maker(room.room)) as h:
            h.slack._token = "xoxb-without-files-read"
            shared = h.fake.share("scene.fountain", SCENE.encode())
            assert await h.event({**mention("echotext", "710.1"), "files": [shared]}, "Ev7") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1)
            return h

    h = run(go())
    assert RAN == []
    said = " ".join(h.fake.shown_in("710.1"))
    assert "files:read" in said and "Sign in" not in said


def test_discord_mention_with_an_attachment_runs_the_command_on_its_text(room: App) -> None:
    async def go() -> DiscordHarness:
        async with discord_harness(bot_maker(room.room)) as h:
            scene = h.fake.attach("scene.fountain", SCENE.encode("utf-16"))  # with its BOM
            h.message(
                message_payload(
                    CHANNEL, 555, f"<@{BOT}> echotext", mentions=[BOT], attachments=[scene]
                )
            )
            await h.wait_for(lambda: h.bot.replies_sent >= 1)
            pdf = h.fake.attach("notes.pdf", PDF, content_type="application/pdf")
            h.message(
                message_payload(
                    CHANNEL, 555, f"<@{BOT}> echotext", mentions=[BOT], attachments=[pdf]
                )
            )
            big = h.fake.attach("pilot.fountain", b"INT. A - DAY\n", size=LIMIT + 1)
            h.message(
                message_payload(
                    CHANNEL, 555, f"<@{BOT}> echotext", mentions=[BOT], attachments=[big]
                )
            )
            await h.wait_for(lambda: h.bot.replies_sent >= 3)
            return h

    h = run(go())
    assert RAN == [READ]  # only the text file's run
    said = [str(b.get("content")) for _, _, b in h.fake.calls if b.get("content")]
    assert sum(WANT in s for s in said) == 1
    assert any("notes.pdf looks like a PDF, not text" in s for s in said)
    assert any(
        "pilot.fountain is 4,097 bytes; the room reads attached files up to 4,096" in s
        for s in said
    )
    # the text file and the PDF were fetched; the oversize one never was
    ids = list(h.fake.attached)
    assert h.fake.downloads == ids[:2]
    assert "test-token" not in json.dumps([c for c in h.fake.calls], default=str)


def test_terminal_attach_sends_a_file_with_the_next_message_only(room: App, tmp_path: Path) -> None:
    scene = tmp_path / "my scene.fountain"
    scene.write_bytes(SCENE.encode("cp1252"))
    still = tmp_path / "still.png"
    still.write_bytes(PNG)
    big = tmp_path / "pilot.fountain"
    big.write_bytes(b"x" * (LIMIT + 1))
    out, out_buf, err, err_buf = consoles()
    term = TerminalRoom(room.room, show="", writer="dana", thread="t", out=out, err=err)

    attached = run(term.send(f"/attach {scene}"))  # a path with a space, as typed
    assert attached.kind == "noted" and "Attached my scene.fountain" in out_buf.getvalue()
    reply = run(term.send("/echotext"))
    assert reply.text == WANT and RAN == [READ]
    again = run(term.send("/echotext"))  # the file went with one message only
    assert not again.ok and "needs TEXT" in again.text and len(RAN) == 1

    run(term.send(f"/attach {still}"))
    refused = run(term.send("/echotext"))
    assert not refused.ok and "still.png looks like an image (PNG), not text" in refused.text
    run(term.send(f"/attach {scene}"))
    both = run(term.send("/echotext typed words"))
    assert not both.ok and "takes one or the other" in both.text
    run(term.send(f"/attach {scene}"))
    chatter = run(term.send("coffee, anyone?"))  # said to the room: the file waits
    assert chatter.kind == "noted" and term.attached is not None
    assert "my scene.fountain is still attached" in out_buf.getvalue()
    dropped = run(term.send("/attach"))
    assert dropped.text == "Dropped my scene.fountain." and term.attached is None

    too_big = run(term.send(f"/attach {big}"))
    assert not too_big.ok and "pilot.fountain is 4,097 bytes; the room reads" in too_big.text
    missing = run(term.send(f"/attach {tmp_path / 'nope.fountain'}"))
    assert not missing.ok and "there is no file" in missing.text and term.attached is None
    assert len(RAN) == 1  # nothing but the first run reached the command
    assert "Nothing was saved." in err_buf.getvalue()


def test_a_file_may_be_longer_than_a_message_but_typed_text_may_not(
    room: App, tmp_path: Path
) -> None:
    """A file may be longer than a chat message: the upload limit bounds it, not the
    message limit (which still bounds what is typed)."""
    long = "INT. LIGHTHOUSE - NIGHT\n" + "Maren climbs. " * 250  # over 3,000 chars
    assert 1000 < len(long) < LIMIT
    path = tmp_path / "long.fountain"
    path.write_text(long)
    out, _, err, _ = consoles()
    term = TerminalRoom(room.room, show="", writer="dana", thread="t", out=out, err=err)
    run(term.send(f"/attach {path}"))
    reply = run(term.send("/echotext"))
    assert reply.ok and reply.text.startswith(f"got {len(long.strip())} chars")
    typed = run(term.send("/echotext hello there"))
    assert typed.text == "got 11 chars; first line: hello there"
    pasted = run(term.send("/echotext " + long))  # typed, the message limit holds
    assert not pasted.ok and "the room takes up to 1,000" in pasted.text


def test_ask_file_gives_the_command_the_file(
    room: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scene = tmp_path / "scene.fountain"
    scene.write_bytes(codecs.BOM_UTF8 + SCENE.encode())
    out, _, err, err_buf = consoles()
    args = cli.build_parser().parse_args(["ask", "--file", str(scene), "/echotext"])
    assert run(cli._ask(room, args, "", out, err)) == cli.EXIT_OK
    assert capsys.readouterr().out.strip() == WANT and RAN == [READ]
    scene.write_bytes(PDF)
    assert run(cli._ask(room, args, "", out, err)) == cli.EXIT_FAIL
    assert "scene.fountain looks like a PDF, not text" in err_buf.getvalue() and len(RAN) == 1
