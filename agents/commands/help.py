"""`help [COMMAND]`: the commands, or one command's arguments and examples."""

from __future__ import annotations

from agents.commands.registry import help_text, register
from agents.commands.spec import Call, CommandSpec, Param
from agents.messages import Reply


async def run(call: Call) -> Reply:
    return Reply(kind="help", text=help_text(call.arg("command"), call.event.prefix))


SPEC = register(
    CommandSpec(
        "help",
        "List the commands, or explain one.",
        (
            Param(
                "command",
                "A command name.",
                required=False,
                rest=True,
                complete="commands",
            ),
        ),
        ("help beats",),
        handler=run,
        addressable=True,
        needs_show=False,
    )
)
