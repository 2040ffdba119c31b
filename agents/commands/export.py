"""`export [WHAT] [FORMAT]`: the thread's latest beat sheet, wrap-up, scene or shot list as a
file for the writers' own tools: Fountain, Final Draft (.fdx), Markdown, or CSV for tables.

No model is asked: the result is read as the room stored it and written out by code (see
agents.exporting), and nothing is written to the thread. Said to the bot in a thread
('@bot export fdx') it counts as the command only when every word names what to export or
a format, so '@bot export this to where?' stays a question.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from agents import render
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.errors import BadRequest
from agents.export_choices import DEFAULT_FORMAT, FORMATS, WHATS
from agents.messages import Reply

# Other words writers use for the same things.
ALIASES = {
    "beat": "beats",
    "beatsheet": "beats",
    "wrapup": "wrap",
    "wrap-up": "wrap",
    "shot": "shots",
    "shotlist": "shots",
    "finaldraft": "fdx",
    "final-draft": "fdx",
    "markdown": "md",
}
# Words that say nothing about what or how ('export the scene as fdx').
FILLER = frozenset({"the", "a", "an", "as", "in", "to", "latest", "last", "file", "please"})


class Exported(BaseModel):
    """What was exported (`ask --json` prints it): the result's kind, the file's format and
    name, when the result was made, and how much it holds."""

    what: str
    format: str
    file: str
    made_at: float
    from_wrap: bool
    contents: str


def _word(word: str) -> str:
    word = word.lower().strip(".,!:;")
    return ALIASES.get(word, word)


def understood(text: str) -> bool:
    """Every word names what to export or a format (or is a filler word)."""
    return all((w := _word(word)) in WHATS or w in FORMATS or w in FILLER for word in text.split())


def choices(text: str, given_format: str | None) -> tuple[str | None, str | None]:
    """(what, format) from the free words and the format option, any order; a word that is
    neither is refused, naming both lists."""
    what: set[str] = set()
    fmt: set[str] = {given_format} if given_format else set()
    for raw in text.split():
        word = _word(raw)
        if word in WHATS:
            what.add(word)
        elif word in FORMATS:
            fmt.add(word)
        elif word not in FILLER:
            raise BadRequest(
                f"Export does not know '{raw}'. It writes the formats {', '.join(FORMATS)}, "
                f"of what the thread made: {', '.join(WHATS)}. Usage: {SPEC.usage}. "
                "Nothing was exported."
            )
    if len(what) > 1 or len(fmt) > 1:
        many = ", ".join(sorted(what)) if len(what) > 1 else ", ".join(sorted(fmt))
        raise BadRequest(
            f"Export takes one thing in one format at a time, not {many}. "
            f"Usage: {SPEC.usage}. Nothing was exported."
        )
    return next(iter(what), None), next(iter(fmt), None)


async def run(call: Call) -> Reply:
    # The writers import the desk's result models from the command modules: loaded here,
    # while the commands are being registered, they would import themselves.
    from agents.exporting import (
        attachment,
        check_format,
        contents,
        described,
        latest,
        nothing_to_export,
    )

    event, services = call.event, call.services
    what, fmt = choices(call.arg("what") or "", call.arg("format"))
    if what is not None and fmt is not None:
        check_format(what, fmt)  # refused before anything is read
    keys = [event.key] + ([event.own_key] if event.own_key != event.key else [])
    stored = await asyncio.to_thread(
        latest, services.history, services.ledger.log, call.show, keys, call.brainstorm, what
    )
    if stored is None:
        raise BadRequest(nothing_to_export(what, event.prefix, event.addressed_as))
    fmt = fmt or DEFAULT_FORMAT[stored.what]
    file = attachment(stored, fmt)
    return Reply(
        kind="export",
        text=f"{render.bold('Exported')} {described(stored, fmt, file.name)}",
        result=Exported(
            what=stored.what,
            format=fmt,
            file=file.name,
            made_at=stored.at,
            from_wrap=stored.from_wrap,
            contents=contents(stored),
        ),
        files=[file],
    )


SPEC = register(
    CommandSpec(
        "export",
        "Attach the thread's latest beat sheet, wrap-up, scene or shot list as a file: "
        "Fountain, Final Draft (fdx), Markdown (md), or CSV for shot lists and beat sheets.",
        (
            Param(
                "what",
                "beats, wrap, scene or shots; empty for the newest of these in the thread.",
                required=False,
                rest=True,
            ),
            Param(
                "format",
                "fountain, fdx (Final Draft), md (Markdown) or csv (shot lists and beat "
                "sheets); empty for Fountain, or CSV for a shot list.",
                required=False,
                choices=FORMATS,
            ),
        ),
        ("export", "export fdx", "export beats fdx", "export scene md", "export shots csv"),
        handler=run,
        result=Exported,
        addressable=True,
        addressed_if=understood,
        notes_as_of=False,
    )
)
