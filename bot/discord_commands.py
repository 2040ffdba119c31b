"""Discord's app commands, built from the command registry: typed options, choices,
autocomplete and descriptions, so a new command needs no code here. Also the thread a
brainstorm started by a command opens in."""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from agents.commands import CommandSpec
from agents.errors import BadRequest

log = logging.getLogger(__name__)
NO_PINGS = discord.AllowedMentions.none()
WEEK_MINUTES = 10080  # a brainstorm thread archives after a week without messages
DESCRIPTION_CHARS = 100  # Discord's limit for command and option descriptions
THREAD_NAME_CHARS = 90
MENTION = re.compile(r"<@!?\d+>")
_TYPES: dict[str, type] = {"text": str, "int": int, "bool": bool}

Run = Callable[[discord.Interaction, str, dict[str, Any]], Awaitable[None]]
Suggest = Callable[[discord.Interaction, str, str], Awaitable[list[str]]]


def thread_link(workspace: str, thread: str) -> str:
    return f"https://discord.com/channels/{'@me' if workspace == 'dm' else workspace}/{thread}"


def thread_name(text: str) -> str:
    name = MENTION.sub("", text).replace("@", "").strip() or "room"
    return name[:THREAD_NAME_CHARS]


def app_command(
    spec: CommandSpec, run: Run, suggest: Suggest
) -> app_commands.Command[Any, Any, None]:
    """One app command for a registry command. A required choice with one value ('bible
    search') is implied, not asked for."""
    implied = {p.name: p.choices[0] for p in spec.params if p.required and len(p.choices) == 1}
    asked = [p for p in spec.params if p.name not in implied]

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await run(interaction, spec.name, {**implied, **values})

    options = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD)] + [
        inspect.Parameter(
            p.name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=_TYPES[p.kind] if p.required else _TYPES[p.kind] | None,
            default=inspect.Parameter.empty if p.required else None,
        )
        for p in asked
    ]
    callback.__signature__ = inspect.Signature(options)  # type: ignore[attr-defined]
    described = app_commands.describe(**{p.name: p.description[:DESCRIPTION_CHARS] for p in asked})(
        callback
    )
    choices = {
        p.name: [app_commands.Choice(name=c, value=c) for c in p.choices]
        for p in asked
        if p.choices
    }
    if choices:
        described = app_commands.choices(**choices)(described)
    complete = {p.name: _completer(p.complete, suggest) for p in asked if p.complete}
    if complete:
        described = app_commands.autocomplete(**complete)(described)
    return app_commands.Command(
        name=spec.name, description=spec.summary[:DESCRIPTION_CHARS], callback=described
    )


def _completer(source: str, suggest: Suggest) -> Any:
    async def complete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=n, value=n)
            for n in await suggest(interaction, source, current)
        ]

    return complete


class CommandThreads:
    """A brainstorm from a channel: a parent message, a thread on it, the opening inside."""

    def __init__(self, channel: Any, author: str, workspace: str) -> None:
        self._channel, self._author, self._workspace = channel, author, workspace
        self.opened: dict[str, tuple[Any, Any]] = {}  # thread ID -> (parent message, thread)

    async def open(self, title: str, name: str) -> tuple[str, str]:
        parent = await self._channel.send(
            f"**Brainstorm:** {title[:1800]}\n*opened by {self._author}*", allowed_mentions=NO_PINGS
        )
        try:
            thread = await parent.create_thread(
                name=thread_name(title), auto_archive_duration=10080
            )
        except discord.HTTPException:
            log.warning("could not create a brainstorm thread", exc_info=True)
            await parent.delete()
            raise BadRequest(
                "I could not open a thread here. The bot needs the Create Public Threads "
                "permission in this channel (direct messages have no threads)."
            ) from None
        self.opened[str(thread.id)] = (parent, thread)
        return str(thread.id), thread_link(self._workspace, str(thread.id))

    async def discard(self, thread: str) -> None:
        parent, _ = self.opened.pop(thread, (None, None))
        if parent is not None:
            await parent.delete()
