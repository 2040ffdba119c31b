"""The one command table. Every adapter registers its commands and help from here.

Text adapters (terminal, message text) parse ``/name args`` with ``parse_command``; adapters
with typed options (Slack, Discord) pass a dict to ``validate_args``. Both end in the same
checked argument dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.errors import BadRequest
from agents.schemas import STRUCTURES

MAX_LOGLINES = 10


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    required: bool = True
    choices: tuple[str, ...] = ()
    kind: type = str
    default: Any = None
    rest: bool = False  # takes the remaining free text


@dataclass(frozen=True)
class CommandSpec:
    name: str
    summary: str
    params: tuple[Param, ...]
    examples: tuple[str, ...] = field(default_factory=tuple)

    @property
    def usage(self) -> str:
        parts = [self.name]
        for p in self.params:
            label = "|".join(p.choices) if p.choices and not p.rest else p.name.upper()
            parts.append(label if p.required else f"[{label}]")
        return " ".join(parts)


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "logline",
        "Pitch distinct loglines for a premise: protagonist, goal, obstacle and hook.",
        (
            Param("premise", "The story idea, in a sentence or two.", rest=True),
            Param("n", f"How many loglines (1-{MAX_LOGLINES}).", False, kind=int, default=3),
        ),
        ("logline Maren has to smuggle a crate to save the ferry 3",),
    ),
    CommandSpec(
        "beats",
        "Break a premise into a beat sheet, using the show's characters and citing canon.",
        (
            Param("premise", "The story idea to break.", rest=True),
            Param("structure", "Beat structure.", False, tuple(STRUCTURES), default="save-the-cat"),
        ),
        ("beats Toby's funeral is interrupted by the fog bell tv-four-act",),
    ),
    CommandSpec(
        "character",
        "Show a character's card from the bible, with sources.",
        (Param("name", "The character's name or an alias.", rest=True),),
        ("character Cap",),
    ),
    CommandSpec(
        "bible",
        "Search the show bible and show the matching sections with their sources.",
        (
            Param("action", "What to do.", choices=("search",)),
            Param("query", "What to look for.", rest=True),
        ),
        ("bible search who runs the lighthouse chapel",),
    ),
    CommandSpec(
        "brainstorm",
        "Open a brainstorm thread on a topic: the canon in play and a few provocations.",
        (Param("topic", "What the room is breaking, in a sentence.", rest=True),),
        ("brainstorm what the fog bell means to Maren after Toby's death",),
    ),
    CommandSpec(
        "riff",
        "In a brainstorm: build on the room's latest pitch, or on pitch N.",
        (Param("pitch", "A pitch number.", required=False, kind=int, rest=True),),
        ("riff", "riff 2"),
    ),
    CommandSpec(
        "capture",
        "In a brainstorm: keep the last thing a writer said as a pitch.",
        (),
        ("capture",),
    ),
    CommandSpec(
        "vote",
        "Vote for a pitch (one vote per writer; reactions count too).",
        (Param("pitch", "The pitch number.", kind=int, rest=True),),
        ("vote 2",),
    ),
    CommandSpec(
        "unvote",
        "Take your vote for a pitch back.",
        (Param("pitch", "The pitch number.", kind=int, rest=True),),
        ("unvote 2",),
    ),
    CommandSpec(
        "wrap",
        "In a brainstorm: decisions, top pitches by votes, open questions; with 'beats', a beat "
        "sheet from the pitches that have votes.",
        (
            Param("beats", "Add a beat sheet.", False, ("beats",)),
            Param("structure", "Beat structure.", False, tuple(STRUCTURES), default="tv-four-act"),
        ),
        ("wrap", "wrap beats three-act"),
    ),
    CommandSpec(
        "canon",
        "Canon editors only: add a pitch (or the thread's wrap-up) to the bible, or undo the "
        "last addition.",
        (
            Param("action", "add or undo.", choices=("add", "undo")),
            Param("target", "A pitch number, or 'wrap'.", required=False, rest=True),
        ),
        ("canon add 2", "canon add wrap", "canon undo"),
    ),
    CommandSpec(
        "help",
        "List the commands, or explain one.",
        (Param("command", "A command name.", required=False, rest=True),),
        ("help beats",),
    ),
)
BY_NAME = {c.name: c for c in COMMANDS}
# Commands a writer can give by addressing the bot in a thread ("@bot wrap"), since Slack's
# slash commands cannot be used inside threads. Questions that merely start with a word like
# "character" still go to the canon agent, so the list stays short.
ADDRESSABLE = frozenset(
    {"brainstorm", "riff", "capture", "vote", "unvote", "wrap", "canon", "help"}
)


def get_command(name: str) -> CommandSpec:
    spec = BY_NAME.get(name.lower())
    if spec is None:
        known = ", ".join(c.name for c in COMMANDS)
        raise BadRequest(f"There is no command '{name}'. The commands are: {known}. Try: help")
    return spec


def parse_command(text: str) -> tuple[CommandSpec, dict[str, Any]]:
    """Parse '/logline a premise 3' style text into a command and checked arguments."""
    words = text.strip().lstrip("/").split()
    if not words:
        raise BadRequest("That command is empty. Try: help")
    spec = get_command(words[0])
    rest = words[1:]
    values: dict[str, Any] = {}
    leading = [p for p in spec.params if p.choices and not p.rest and p.required]
    for param in leading:  # e.g. 'bible search ...'
        if rest and rest[0].lower() in param.choices:
            values[param.name] = rest.pop(0).lower()
    trailing = [p for p in spec.params if not p.required and not p.rest]
    for param in reversed(trailing):  # e.g. '... 3' or '... tv-four-act'
        if not rest:
            break
        last = rest[-1].lower()
        if (param.kind is int and last.lstrip("#").isdigit()) or (
            param.choices and last in param.choices
        ):
            values[param.name] = rest.pop()
    free = [p for p in spec.params if p.rest]
    if free and rest:
        values[free[0].name] = " ".join(rest)
    return spec, validate_args(spec, values)


def validate_args(spec: CommandSpec, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for param in spec.params:
        raw = values.get(param.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if param.required:
                raise BadRequest(
                    f"'{spec.name}' needs {param.name.upper()}: {param.description} "
                    f"Usage: {spec.usage}"
                )
            out[param.name] = param.default
            continue
        if param.kind is int:
            try:
                value: Any = int(str(raw).strip().lstrip("#"))
            except (TypeError, ValueError):
                raise BadRequest(
                    f"{param.name} must be a whole number. Usage: {spec.usage}"
                ) from None
        else:
            value = str(raw).strip()
        if param.choices and str(value).lower() not in param.choices:
            raise BadRequest(
                f"{param.name} must be one of: {', '.join(param.choices)}. Usage: {spec.usage}"
            )
        out[param.name] = value.lower() if param.choices else value
    if spec.name == "logline" and not 1 <= out["n"] <= MAX_LOGLINES:
        raise BadRequest(f"Ask for between 1 and {MAX_LOGLINES} loglines.")
    return out


def addressed_command(text: str) -> tuple[CommandSpec, dict[str, Any]] | None:
    """'wrap', 'vote 2', 'canon add 2' said to the bot: the command, else None (a question).

    'canon' counts only with add/undo after it, so "canon says Toby died?" stays a question.
    """
    words = text.strip().lstrip("/").split()
    if not words or words[0].lower() not in ADDRESSABLE:
        return None
    if words[0].lower() == "canon" and (len(words) < 2 or words[1].lower() not in ("add", "undo")):
        return None
    if words[0].lower() == "riff" and len(words) > 1 and not words[1].lstrip("#").isdigit():
        return None  # "riff on Quill's angle": an ask for a riff, in the writer's words
    return parse_command(text)


def help_text(name: str | None = None) -> str:
    if name:
        spec = get_command(name.split()[0])
        lines = [f"{spec.usage}", spec.summary]
        lines += [f"  {p.name}: {p.description}" for p in spec.params]
        lines += [f"  example: {e}" for e in spec.examples]
        return "\n".join(lines)
    lines = ["Commands:"] + [f"  {c.usage:<40} {c.summary}" for c in COMMANDS]
    lines.append("Or just ask a question about the show; answers cite the bible.")
    return "\n".join(lines)
