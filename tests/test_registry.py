"""Adding a command is one module: a throwaway command registered at run time is parsed by
the terminal, listed in help, run through Slack's `/wr` and built into Discord's app command
tree with its typed options, choices and autocomplete, with no edit in bot/."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from discord import AppCommandOptionType
from pydantic import BaseModel
from rich.console import Console

from agents.commands import Call, CommandSpec, Param, commands, parse_command, register, unregister
from agents.messages import Reply
from bot.compose import App
from bot.discord_bot import DiscordRoom
from bot.terminal import TerminalRoom
from tests.conftest import SHOW, run
from tests.discord_fake import bot_maker, discord_harness, interaction_payload
from tests.slack_fake import room_maker, slack_harness


class Echo(BaseModel):
    said: str
    times: int


async def echo(call: Call) -> Reply:
    result = Echo(said=call.arg("words"), times=call.arg("times"))
    return Reply(kind="echo", text=f"echo: {result.said} x{result.times}", result=result)


@pytest.fixture
def echo_command() -> Iterator[CommandSpec]:
    spec = register(
        CommandSpec(
            "echo",
            "Say the words back (a test command).",
            (
                Param("words", "What to say.", rest=True, complete="characters"),
                Param("times", "How often.", False, kind="int", default=1, least=1, most=3),
                Param("tone", "How.", False, ("flat", "loud"), default="flat"),
            ),
            ("echo hello 2",),
            handler=echo,
            result=Echo,
        )
    )
    yield spec
    unregister("echo")
    assert "echo" not in {c.name for c in commands()}


def test_the_terminal_parses_and_runs_it(app: App, echo_command: CommandSpec) -> None:
    spec, args = parse_command("/echo hello there 2 loud")
    assert spec is echo_command and args == {"words": "hello there", "times": 2, "tone": "loud"}
    out = Console(file=io.StringIO(), width=200)
    term = TerminalRoom(app.room, show=SHOW, writer="dana", thread="t", out=out, err=out)
    reply = run(term.send("/echo hello 3"))
    assert reply.kind == "echo" and reply.result == Echo(said="hello", times=3)
    assert "echo: hello x3" in out.file.getvalue()  # type: ignore[attr-defined]
    help_reply = run(term.send("/help"))
    assert "echo WORDS [TIMES] [flat|loud]" in help_reply.text
    bad = run(term.send("/echo hi 9"))
    assert bad.kind == "error" and "between 1 and 3" in bad.text


def test_slack_runs_it_as_a_wr_subcommand(app: App, echo_command: CommandSpec) -> None:
    async def go() -> None:
        async with slack_harness(room_maker(app.room)) as h:
            assert await h.command("echo hello from slack 2") == 200
            await h.wait_for(lambda: bool(h.fake.named("chat.postMessage")))
            posted = h.fake.named("chat.postMessage")[0]["text"]
            assert "/wr echo hello from slack 2" in posted
            assert "echo: hello from slack x2" in posted

    run(go())


def test_discord_builds_it_into_the_command_tree(app: App, echo_command: CommandSpec) -> None:
    bot = DiscordRoom(app.room)
    built = bot.tree.get_command("echo")
    assert built is not None and built.description == echo_command.summary
    options = {p.name: p for p in built.parameters}  # type: ignore[union-attr]
    assert list(options) == ["words", "times", "tone"]
    assert options["words"].required and options["words"].autocomplete
    assert options["times"].type is AppCommandOptionType.integer and not options["times"].required
    assert [c.value for c in options["tone"].choices] == ["flat", "loud"]
    assert {c.name for c in commands()} <= {c.name for c in bot.tree.get_commands()}

    async def go() -> None:
        async with discord_harness(bot_maker(app.room)) as h:
            opts = [
                {"name": "words", "type": 3, "value": "hello from discord"},
                {"name": "times", "type": 4, "value": 2},
            ]
            h.interaction(interaction_payload("echo", opts))
            await h.wait_for(lambda: h.bot.replies_sent >= 1)
            sent = " ".join(p.get("content", "") for _, _, p in h.fake.calls if isinstance(p, dict))
            assert "echo: hello from discord x2" in sent

    run(go())
