"""The room in Discord (discord.py): mentions answered in threads, follow-ups in the bot's
threads without a mention, direct messages, reactions as votes, and app commands built from
the command registry (choices, autocomplete and descriptions included).

This module only translates Discord's events into the core's and sends replies; every rule
lives in the core. Every message is sent with allowed mentions set to none, so nothing the
model writes can ping anyone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import discord
import yarl
from discord import app_commands

from agents.commands import commands
from agents.messages import Command, Message, Reaction, RoomEvent, Update, final_reply
from agents.room import Room
from bot.attachments import outgoing
from bot.discord_commands import (
    MENTION,
    NO_PINGS,
    CommandThreads,
    app_command,
    thread_link,
    thread_name,
)
from bot.discord_files import attached_files, send_files
from bot.discord_render import LIMIT, split
from bot.streaming import deliver

log = logging.getLogger(__name__)
PLATFORM = "discord"
STALE_COMMAND = (
    "Discord sent this command in an older form than the bot knows, so nothing was done. "
    "Try again in a minute (Discord may still be updating its commands); if it keeps "
    "happening, ask whoever runs the bot to restart it so that it syncs its commands."
)
COMMAND_FAILED = (
    "Something went wrong on the bot's side; nothing was saved. Try again, and if it keeps "
    "happening, ask whoever runs the bot to check its log."
)


def _roles(user: Any) -> tuple[str, ...]:
    return tuple(str(r.id) for r in getattr(user, "roles", []))


class DiscordRoom(discord.Client):
    def __init__(self, room: Room, *, update_interval_s: float = 1.0) -> None:
        intents = discord.Intents.default()
        # Privileged: without it, thread follow-ups that do not mention the bot arrive empty.
        intents.message_content = True
        super().__init__(intents=intents, allowed_mentions=NO_PINGS)
        self.room = room
        self._interval = update_interval_s
        self.tree = app_commands.CommandTree(self)
        self.replies_sent = 0
        self.messages_handled = 0  # every message the room saw, answered or only recorded
        self.reactions_counted = 0  # reactions on pitches that counted as votes
        self._reactions = asyncio.Lock()
        for spec in commands():
            self.tree.add_command(app_command(spec, self._command, self._suggest))
        self.tree.error(self._command_failed)

    # ---- conversation --------------------------------------------------------------------
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.user is None:
            return
        try:
            await self._on_message(message)
        except Exception:  # the writer must hear back, not meet silence
            log.exception("discord message failed")
            await message.channel.send(
                "Something went wrong on the bot's side; nothing was saved. Try again.",
                allowed_mentions=NO_PINGS,
            )

    async def _on_message(self, message: discord.Message) -> None:
        assert self.user is not None
        channel = message.channel
        workspace = str(message.guild.id) if message.guild else "dm"
        mentioned = message.guild is None or self.user in message.mentions
        if message.guild is None:
            target: Any = channel
        elif self.user in message.mentions:
            target = (
                channel
                if isinstance(channel, discord.Thread)
                else await message.create_thread(
                    name=thread_name(message.clean_content), auto_archive_duration=1440
                )
            )
        elif isinstance(channel, discord.Thread) and self.room.in_thread(
            PLATFORM, workspace, str(channel.parent_id), str(channel.id)
        ):
            target = channel
        else:
            return
        files = await attached_files(message.attachments, self.room.max_upload_bytes)
        msg = Message(
            platform=PLATFORM,
            workspace=workspace,
            channel=str(getattr(target, "parent_id", None) or target.id),
            thread=str(target.id),
            author=message.author.display_name,
            author_id=str(message.author.id),
            roles=_roles(message.author),
            in_thread=isinstance(channel, discord.Thread),
            direct=message.guild is None,
            text=MENTION.sub("", message.content).strip(),
            mentions_bot=mentioned,
            in_bot_thread=not mentioned,
            message_id=str(message.id),
            link=thread_link(workspace, str(target.id)),
            files=files,
            raw=message,
        )
        await self._stream(target, self.room.handle(msg))

    async def _stream(self, target: Any, updates: AsyncIterator[Update]) -> None:
        """Stream a reply into the channel or thread (see bot.streaming.deliver), then its
        files. A table shows as the code block the reply's text carries (Discord has no
        tables), cut by bot.splits with its fences closed and reopened."""

        async def edit(posted: discord.Message, text: str) -> None:
            await posted.edit(content=text, allowed_mentions=NO_PINGS)

        reply = await deliver(
            updates,
            post=lambda text: target.send(text, allowed_mentions=NO_PINGS),
            edit=edit,
            placeholder="*thinking…*",
            preview=lambda text: text[-(LIMIT - 10) :],
            finish=lambda r: outgoing(r, split).parts,
            interval_s=self._interval,
            retract=lambda posted: posted.delete(),
        )
        if reply is not None:  # counted once its files are there too
            files = outgoing(reply, split).files
            if files:
                await send_files(partial(target.send, allowed_mentions=NO_PINGS), files)
            self.replies_sent += 1
        self.messages_handled += 1

    # ---- reactions: votes on pitches --------------------------------------------------------
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=False)

    async def _reaction(self, payload: discord.RawReactionActionEvent, added: bool) -> None:
        if self.user is None or payload.user_id == self.user.id:
            return
        member = payload.member
        where = str(payload.channel_id)
        reaction = Reaction(
            platform=PLATFORM,
            workspace=str(payload.guild_id or "dm"),
            channel=where,
            thread=where,
            author=member.display_name if member is not None else str(payload.user_id),
            author_id=str(payload.user_id),
            message_id=str(payload.message_id),
            token=str(payload.emoji),
            added=added,
        )
        # One at a time, in the order they arrived: a quick add-then-remove must end removed.
        async with self._reactions:
            if (await final_reply(self.room.handle(reaction))).kind == "vote":
                self.reactions_counted += 1

    # ---- app commands, from the registry -----------------------------------------------------
    async def _suggest(
        self, interaction: discord.Interaction, source: str, typed: str
    ) -> list[str]:
        return self.room.suggest(self._event_of(interaction), source, typed)

    def _event_of(self, interaction: discord.Interaction) -> RoomEvent:
        user = interaction.user
        workspace = str(interaction.guild_id or "dm")
        parent = getattr(interaction.channel, "parent_id", None)
        in_thread = parent is not None
        return RoomEvent(
            platform=PLATFORM,
            workspace=workspace,
            channel=str(parent or interaction.channel_id),
            # In a thread the command belongs to that thread (a brainstorm's wrap, say);
            # elsewhere the core gives it the writer's own conversation.
            thread=str(interaction.channel_id) if in_thread else "",
            author=user.display_name,
            author_id=str(user.id),
            roles=_roles(user),
            in_thread=in_thread,
            direct=interaction.guild_id is None,
            link=thread_link(workspace, str(interaction.channel_id)) if in_thread else "",
            addressed_as=f"@{self.user.display_name}" if self.user else "@bot",
            raw=interaction,
        )

    async def _command(
        self, interaction: discord.Interaction, name: str, args: dict[str, Any]
    ) -> None:
        # Deferred at once (ephemerally, so that errors stay with the asker); the result is
        # posted to the channel for the room.
        await interaction.response.defer(ephemeral=True, thinking=True)
        where = self._event_of(interaction)
        threads = CommandThreads(interaction.channel, where.author, where.workspace)
        command = Command(
            **where.model_dump(exclude={"raw", "threads"}),
            raw=interaction,
            threads=threads,
            name=name,
            args=args,
        )
        reply = await final_reply(self.room.handle(command))
        if not reply.ok or reply.private:  # Discord can attach files for the asker only
            out = outgoing(reply, split)
            for part in out.parts:
                await interaction.followup.send(part, ephemeral=True)
            if out.files:
                await send_files(partial(interaction.followup.send, ephemeral=True), out.files)
            return
        if reply.thread:  # a brainstorm: the opening goes in its new thread
            _, target = threads.opened[reply.thread]
            out, done = outgoing(reply, split), "Opened the brainstorm thread."
        else:
            target = interaction.channel
            asked = f"*{where.author} asked for /{name}*"
            out = outgoing(reply, lambda text: split(f"{asked}\n{text}"))
            done = "Posted for the room."
        for part in out.parts:
            await target.send(part, allowed_mentions=NO_PINGS)
        if out.files:
            await send_files(partial(target.send, allowed_mentions=NO_PINGS), out.files)
        await interaction.followup.send(done, ephemeral=True)
        self.replies_sent += 1

    async def _command_failed(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """discord.py only logs a command that fails (before our handler, as with a command
        Discord still has in an older form, or inside it); the writer would be left with
        'The application did not respond'."""
        log.error("discord app command failed: %s", type(error).__name__, exc_info=error)
        if interaction.type is not discord.InteractionType.application_command:
            return  # autocomplete: nothing to say, and no message may answer it
        stale = (app_commands.CommandSignatureMismatch, app_commands.CommandNotFound)
        text = STALE_COMMAND if isinstance(error, stale) else COMMAND_FAILED
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not tell the writer that their command failed")


def use_api_base(base: str) -> None:
    """Point discord.py's REST calls at another /api/v10 root (a local server, in tests)."""
    discord.http.Route.BASE = base.rstrip("/")


async def run_discord(bot: DiscordRoom, token: str, api_base: str | None, sync_guild: int | None):
    """Log in, sync app commands (to one test server, or globally), and stay connected."""
    if api_base:
        use_api_base(api_base)
    async with bot:
        await bot.login(token)
        if api_base:  # a plain Client dials Discord's fixed gateway otherwise
            from discord.gateway import DiscordWebSocket

            _, url, _ = await bot.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        if sync_guild:
            guild = discord.Object(id=sync_guild)
            bot.tree.copy_global_to(guild=guild)
            await bot.tree.sync(guild=guild)
        else:
            await bot.tree.sync()
        await bot.connect()
