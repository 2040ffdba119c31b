"""What a command module declares, and what its handler is given.

A command is one module in this package: a ``CommandSpec`` with its name, typed arguments
(with choices or an autocomplete source), help text and examples, its result model, its
prompt file and its handler. The room, the terminal parser, Slack's `/wr` subcommands and
help, and Discord's app commands are all built from these specs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from agents.messages import Reply, RoomEvent, Update
from memory.episodes import Episode

if TYPE_CHECKING:
    from agents.services import Services
    from memory.ledger import Brainstorm

Kind = Literal["text", "int", "bool"]


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    required: bool = True
    choices: tuple[str, ...] = ()
    kind: Kind = "text"
    default: Any = None
    rest: bool = False  # takes the remaining free text
    complete: str | None = None  # an autocomplete source the core offers (see Room.suggest)
    least: int | None = None  # bounds for an int
    most: int | None = None
    # An attached file's text fills this parameter (a scene to doctor, a script to shoot);
    # short arguments (a name, a topic, a query) never take a file.
    reads_file: bool = False


@dataclass(frozen=True)
class Call:
    """One run of a command: the event that asked, the show it works on ("" for commands
    that need none), checked arguments, the brainstorm thread it was given in, and what the
    author may do."""

    event: RoomEvent
    show: str
    args: dict[str, Any]
    services: Services
    brainstorm: Brainstorm | None = None
    may_edit_canon: bool = False
    is_admin: bool = False
    as_of: Episode | None = None  # the episode the room is breaking; later canon is hidden

    def arg(self, name: str) -> Any:
        return self.args[name]


Handler = Callable[[Call], Awaitable[Reply]]
Streamer = Callable[[Call], AsyncIterator[Update]]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    summary: str
    params: tuple[Param, ...]
    examples: tuple[str, ...]
    handler: Handler | None = None
    stream: Streamer | None = None  # instead of ``handler``: a command that streams its reply
    result: type[BaseModel] | None = None
    prompt: str | None = None  # the prompt file under prompts/, without .txt
    slow: bool = False  # waits on the model or re-indexes: adapters show a placeholder
    records: bool = False  # the ask and the reply go into the thread's history
    addressable: bool = False  # may be said to the bot in a thread ('@bot wrap')
    # For an addressable command whose free text could be a question ('@bot synopsis is weak
    # here?'): said to the bot, it counts as the command only when this holds for its words.
    addressed_if: Callable[[str], bool] | None = None
    needs_show: bool = True
    brainstorm_only: bool = False  # works only inside a brainstorm thread
    private: bool = False  # the reply goes to the asker only (where the platform can)
    notes_as_of: bool = True  # the room heads the reply with the episode it reasons as of
    # Reads the attached file itself, as bytes (a Final Draft script is XML in any encoding):
    # the room leaves ``event.files`` to the handler instead of reading them as text.
    takes_files: bool = False

    @property
    def usage(self) -> str:
        parts = [self.name]
        for p in self.params:
            if p.kind == "bool":
                label = p.name  # a flag, typed as its own name: 'wrap beats'
            elif p.choices and not p.rest:
                label = "|".join(p.choices)
            else:
                label = p.name.upper()
            parts.append(label if p.required else f"[{label}]")
        return " ".join(parts)
