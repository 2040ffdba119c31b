"""The room in Discord (discord.py): mentions answered in threads, follow-ups in the bot's
threads without a mention, direct messages, and app commands from the command table.

The core comes in through the constructor. Every message is sent with allowed mentions set
to none, so nothing the model writes can ping anyone.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import discord
import yarl
from discord import app_commands

from agents.commands import COMMANDS
from agents.messages import Event, IncomingMessage
from agents.room import Room
from agents.schemas import STRUCTURES
from agents.shows import NoShowForChannel, ShowResolver
from bot.discord_render import render, split
from bot.streaming import deliver
from memory.bible import show_slug
from memory.ledger import Actor
from memory.room_state import RoomState

log = logging.getLogger(__name__)
PLATFORM = "discord"
_MENTION = re.compile(r"<@!?\d+>")
NO_PINGS = discord.AllowedMentions.none()


class DiscordRoom(discord.Client):
    def __init__(
        self,
        room: Room,
        shows: ShowResolver,
        state: RoomState,
        *,
        admin_roles: frozenset[int],
        canon_editors: frozenset[int] = frozenset(),
        update_interval_s: float = 1.0,
    ) -> None:
        intents = discord.Intents.default()
        # Privileged: without it, thread follow-ups that do not mention the bot arrive empty.
        intents.message_content = True
        super().__init__(intents=intents, allowed_mentions=NO_PINGS)
        self.room = room
        self._shows = shows
        self._state = state
        self._admin_roles = admin_roles
        self._canon_editors = canon_editors | admin_roles  # role or user IDs
        self._interval = update_interval_s
        self.tree = app_commands.CommandTree(self)
        self.replies_sent = 0
        self.messages_handled = 0  # every message the room saw, answered or only recorded
        self.reactions_counted = 0  # reactions that changed a pitch's votes
        self._reactions = asyncio.Lock()
        self._register_commands()

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
                    name=_thread_name(message.clean_content), auto_archive_duration=1440
                )
            )
        elif isinstance(channel, discord.Thread) and self._state.in_thread(
            PLATFORM, workspace, str(channel.parent_id), str(channel.id)
        ):
            target = channel
        else:
            return
        parent = str(getattr(target, "parent_id", None) or target.id)
        self._state.join_thread(PLATFORM, workspace, parent, str(target.id))
        show = self._shows.resolve(PLATFORM, workspace, parent)
        if show is None:
            await target.send(str(NoShowForChannel("/show NAME")), allowed_mentions=NO_PINGS)
            return
        msg = IncomingMessage(
            platform=PLATFORM,
            workspace=workspace,
            channel=parent,
            thread=str(target.id),
            author=message.author.display_name,
            author_id=str(message.author.id),
            text=_MENTION.sub("", message.content).strip(),
            mentions_bot=mentioned,
            in_bot_thread=not mentioned,
            message_id=str(message.id),
            link=thread_link(workspace, str(target.id)),
            may_edit_canon=self._may_edit(message.author),
            raw=message,
        )
        await self._stream(target, self.room.handle(msg, show))

    def _may_edit(self, user: discord.User | discord.Member) -> bool:
        """Canon editors are configured role IDs (names can be copied) or user IDs."""
        ids = {r.id for r in getattr(user, "roles", [])} | {user.id}
        return bool(ids & self._canon_editors)

    async def _stream(self, target: Any, events: AsyncIterator[Event]) -> None:
        """Stream a reply into the channel or thread (see bot.streaming.deliver)."""

        async def edit(posted: discord.Message, text: str) -> None:
            await posted.edit(content=text, allowed_mentions=NO_PINGS)

        reply = await deliver(
            events,
            post=lambda text: target.send(text, allowed_mentions=NO_PINGS),
            edit=edit,
            placeholder="*thinking…*",
            preview=lambda text: text[-1990:],
            finish=lambda r: split(render(r)),
            interval_s=self._interval,
        )
        self.messages_handled += 1
        if reply is not None:
            self.replies_sent += 1

    # ---- reactions: votes on pitches --------------------------------------------------------
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=False)

    async def _reaction(self, payload: discord.RawReactionActionEvent, added: bool) -> None:
        if self.user is None or payload.user_id == self.user.id:
            return
        member = payload.member
        name = member.display_name if member is not None else str(payload.user_id)
        # One at a time, in the order they arrived: a quick add-then-remove must end removed.
        async with self._reactions:
            await self._count_vote(payload, name, added)

    async def _count_vote(
        self, payload: discord.RawReactionActionEvent, name: str, added: bool
    ) -> None:
        pitch = await asyncio.to_thread(
            self.room.react,
            PLATFORM,
            str(payload.guild_id or "dm"),
            str(payload.message_id),
            Actor(str(payload.user_id), name),
            str(payload.emoji),
            added,
        )
        if pitch is not None:
            self.reactions_counted += 1

    # ---- app commands --------------------------------------------------------------------
    def _register_commands(self) -> None:
        by_name = {c.name: c for c in COMMANDS}

        @self.tree.command(name="logline", description=by_name["logline"].summary[:100])
        @app_commands.describe(premise="The story idea", n="How many loglines (1-10)")
        async def logline(interaction: discord.Interaction, premise: str, n: int = 3) -> None:
            await self._command(interaction, "logline", {"premise": premise, "n": n})

        @self.tree.command(name="beats", description=by_name["beats"].summary[:100])
        @app_commands.describe(premise="The story idea to break", structure="Beat structure")
        @app_commands.choices(structure=[app_commands.Choice(name=s, value=s) for s in STRUCTURES])
        async def beats(
            interaction: discord.Interaction,
            premise: str,
            structure: str = "save-the-cat",
        ) -> None:
            await self._command(interaction, "beats", {"premise": premise, "structure": structure})

        @self.tree.command(name="character", description=by_name["character"].summary[:100])
        @app_commands.describe(name="The character's name or an alias")
        async def character(interaction: discord.Interaction, name: str) -> None:
            await self._command(interaction, "character", {"name": name})

        @character.autocomplete("name")
        async def character_names(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            show = self._show_for(interaction)
            if show is None or not self.room.bible.has_show(show):
                return []
            names = [e.name for e in self.room.bible.entities(show, "character")]
            hits = [n for n in names if current.lower() in n.lower()]
            return [app_commands.Choice(name=n, value=n) for n in hits[:25]]

        @self.tree.command(name="bible", description="Search the show bible")
        @app_commands.describe(query="What to look for")
        async def bible(interaction: discord.Interaction, query: str) -> None:
            await self._command(interaction, "bible", {"action": "search", "query": query})

        @self.tree.command(name="brainstorm", description=by_name["brainstorm"].summary[:100])
        @app_commands.describe(topic="What the room is breaking")
        async def brainstorm(interaction: discord.Interaction, topic: str) -> None:
            await self._command(interaction, "brainstorm", {"topic": topic})

        @self.tree.command(name="riff", description=by_name["riff"].summary[:100])
        @app_commands.describe(pitch="A pitch number (default: the latest pitch)")
        async def riff(interaction: discord.Interaction, pitch: int | None = None) -> None:
            await self._command(interaction, "riff", {"pitch": pitch})

        @self.tree.command(name="wrap", description=by_name["wrap"].summary[:100])
        @app_commands.describe(beats="Add a beat sheet from the voted pitches")
        @app_commands.choices(structure=[app_commands.Choice(name=s, value=s) for s in STRUCTURES])
        async def wrap(
            interaction: discord.Interaction, beats: bool = False, structure: str = "tv-four-act"
        ) -> None:
            args = {"beats": "beats" if beats else None, "structure": structure}
            await self._command(interaction, "wrap", args)

        @self.tree.command(name="vote", description=by_name["vote"].summary[:100])
        async def vote(interaction: discord.Interaction, pitch: int) -> None:
            await self._command(interaction, "vote", {"pitch": pitch})

        @self.tree.command(name="unvote", description=by_name["unvote"].summary[:100])
        async def unvote(interaction: discord.Interaction, pitch: int) -> None:
            await self._command(interaction, "unvote", {"pitch": pitch})

        @self.tree.command(name="canon", description=by_name["canon"].summary[:100])
        @app_commands.describe(action="add or undo", target="A pitch number, or 'wrap'")
        @app_commands.choices(
            action=[app_commands.Choice(name=a, value=a) for a in ("add", "undo")]
        )
        async def canon(
            interaction: discord.Interaction, action: str, target: str | None = None
        ) -> None:
            await self._command(interaction, "canon", {"action": action, "target": target})

        @self.tree.command(name="help", description="List the commands")
        async def help_(interaction: discord.Interaction) -> None:
            await self._command(interaction, "help", {})

        @self.tree.command(name="show", description="Link this channel to a show (admins)")
        async def show(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.followup.send(self._map_show(interaction, name), ephemeral=True)

    def _show_for(self, interaction: discord.Interaction) -> str | None:
        workspace = str(interaction.guild_id or "dm")
        return self._shows.resolve(PLATFORM, workspace, _parent_channel(interaction))

    async def _command(
        self, interaction: discord.Interaction, name: str, args: dict[str, Any]
    ) -> None:
        # Deferred at once (ephemerally, so that errors stay with the asker); the result is
        # posted to the channel for the room.
        await interaction.response.defer(ephemeral=True, thinking=True)
        show = self._show_for(interaction)
        if show is None:
            await interaction.followup.send(str(NoShowForChannel("/show NAME")), ephemeral=True)
            return
        user = interaction.user
        workspace = str(interaction.guild_id or "dm")
        in_thread = getattr(interaction.channel, "parent_id", None) is not None
        msg = IncomingMessage(
            platform=PLATFORM,
            workspace=workspace,
            channel=_parent_channel(interaction),
            # In a thread the command belongs to that thread (a brainstorm's wrap, say);
            # elsewhere each writer's commands keep a history of their own.
            thread=str(interaction.channel_id) if in_thread else f"command-{user.id}",
            author=user.display_name,
            author_id=str(user.id),
            text=f"/{name}",
            mentions_bot=True,
            link=thread_link(workspace, str(interaction.channel_id)) if in_thread else "",
            may_edit_canon=self._may_edit(user),
            raw=interaction,
        )
        if name == "brainstorm":
            await self._open_brainstorm(interaction, msg, show, args)
            return
        reply = await self.room.command(msg, show, name, args)
        if not reply.ok:
            await interaction.followup.send(reply.text[:2000], ephemeral=True)
            return
        parts = split(f"*{user.display_name} asked for /{name}*\n{render(reply)}")
        channel: Any = interaction.channel
        for part in parts:
            await channel.send(part, allowed_mentions=NO_PINGS)
        await interaction.followup.send("Posted for the room.", ephemeral=True)
        self.replies_sent += 1

    async def _open_brainstorm(
        self, interaction: discord.Interaction, msg: IncomingMessage, show: str, args: dict
    ) -> None:
        """A parent message in the channel and a thread on it, the opening in the thread. If
        the opening fails, the parent goes again, so no empty brainstorm is left behind."""
        channel: Any = interaction.channel
        if getattr(channel, "parent_id", None) is not None:
            await interaction.followup.send(
                "Start a brainstorm from a channel, not inside a thread.", ephemeral=True
            )
            return
        topic = str(args.get("topic", "")).strip()
        parent = await channel.send(
            f"**Brainstorm:** {topic[:1800]}\n*opened by {msg.author}*",
            allowed_mentions=NO_PINGS,
        )
        try:
            thread = await parent.create_thread(
                name=_thread_name(topic), auto_archive_duration=10080
            )
        except discord.HTTPException:
            log.warning("could not create a brainstorm thread", exc_info=True)
            await parent.delete()
            await interaction.followup.send(
                "I could not open a thread here. The bot needs the Create Public Threads "
                "permission in this channel (direct messages have no threads).",
                ephemeral=True,
            )
            return
        here = msg.model_copy(
            update={"thread": str(thread.id), "link": thread_link(msg.workspace, str(thread.id))}
        )
        reply = await self.room.command(here, show, "brainstorm", args)
        if not reply.ok:
            await parent.delete()
            await interaction.followup.send(reply.text[:2000], ephemeral=True)
            return
        self._state.join_thread(PLATFORM, msg.workspace, msg.channel, str(thread.id))
        for part in split(render(reply)):
            await thread.send(part, allowed_mentions=NO_PINGS)
        await interaction.followup.send("Opened the brainstorm thread.", ephemeral=True)
        self.replies_sent += 1

    def _map_show(self, interaction: discord.Interaction, name: str) -> str:
        roles = {r.id for r in getattr(interaction.user, "roles", [])}
        if not roles & self._admin_roles:
            return (
                "Only the room's admin roles can change which show this channel uses. "
                "Nothing changed."
            )
        show = show_slug(name)
        if not self.room.bible.has_show(show):
            known = ", ".join(self.room.bible.shows()) or "none yet"
            return f"There is no bible for '{show}' (known shows: {known}). Nothing changed."
        workspace = str(interaction.guild_id or "dm")
        self._state.map_show(
            PLATFORM, workspace, str(interaction.channel_id), show, str(interaction.user.id)
        )
        return f"This channel now works on {show}."


def _parent_channel(interaction: discord.Interaction) -> str:
    parent = getattr(interaction.channel, "parent_id", None) or interaction.channel_id
    return str(parent)


def thread_link(workspace: str, thread: str) -> str:
    return f"https://discord.com/channels/{'@me' if workspace == 'dm' else workspace}/{thread}"


def _thread_name(text: str) -> str:
    name = _MENTION.sub("", text).replace("@", "").strip() or "room"
    return name[:90]


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
