# ruff: noqa: I001  (the import order is the order help lists the commands in)
"""Commands, one module each. Importing this package registers them, in help's order.

A new command is a new module here (its ``CommandSpec``, handler and result), its prompt
file, and its tests; the adapters build their parsers, slash commands and help from the
registry, so nothing in ``bot/`` changes.
"""

from agents.commands import (  # noqa: F401  (each module registers its command)
    logline,
    beats,
    synopsis,
    scene,
    shots,
    doctor,
    look,
    arc,
    translate,
    export,
    character,
    continuity,
    bible,
    brainstorm,
    riff,
    capture,
    vote,
    unvote,
    wrap,
    canon,
    import_script,
    show,
    episode,
    help,
)
from agents.commands.registry import (
    addressed_command,
    commands,
    get_command,
    help_text,
    parse_command,
    register,
    unregister,
    validate_args,
)
from agents.commands.spec import Call, CommandSpec, Param

__all__ = [
    "Call",
    "CommandSpec",
    "Param",
    "addressed_command",
    "commands",
    "get_command",
    "help_text",
    "parse_command",
    "register",
    "unregister",
    "validate_args",
]
