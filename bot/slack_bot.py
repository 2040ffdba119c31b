"""The room in Slack (slack-bolt, async): mentions answered in threads, follow-ups in those
threads without a mention, direct messages, and one slash command, `/wr`, with subcommands.

One slash command with subcommands, rather than one per command: one entry in the app
manifest, no clash with other apps' `/beats` or `/logline`, and the same words as the
terminal room (`/wr logline ...` is `/logline ...` there).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from agents.commands import parse_command
from agents.errors import BadRequest
from agents.messages import Event, IncomingMessage
from agents.room import Room
from agents.shows import NoShowForChannel, ShowResolver
from bot.slack_render import MAX_CHARS, escape, render, split
from bot.streaming import deliver
from memory.bible import InvalidShowName, show_slug
from memory.ledger import Actor
from memory.room_state import RoomState

log = logging.getLogger(__name__)
COMMAND = "/wr"
PLATFORM = "slack"
_MENTION = re.compile(r"<@[A-Z0-9]+>")
# Commands about one thread; Slack cannot send slash commands from inside a thread.
THREAD_ONLY = frozenset({"riff", "capture", "wrap"})


def _preview(text: str) -> str:
    """A reply still being written, escaped and cut to one message."""
    text = escape(text)
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def thread_link(workspace: str, channel: str, thread: str) -> str:
    """The thread in Slack's web client (workspace members can open it)."""
    return f"https://app.slack.com/client/{workspace}/{channel}/thread/{channel}-{thread}"


class SlackRoom:
    def __init__(
        self,
        room: Room,
        shows: ShowResolver,
        state: RoomState,
        *,
        bot_token: str,
        signing_secret: str,
        api_url: str,
        admins: frozenset[str],
        canon_editors: frozenset[str] = frozenset(),
        update_interval_s: float = 1.0,
    ) -> None:
        self._room = room
        self._shows = shows
        self._state = state
        self._admins = admins
        self._canon_editors = canon_editors | admins
        self._interval = update_interval_s
        self.client = AsyncWebClient(token=bot_token, base_url=api_url)
        # Slack answers 429 with Retry-After; wait it out instead of dropping the message.
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
        self.app = AsyncApp(client=self.client, signing_secret=signing_secret)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)
        self.app.command(COMMAND)(self._on_command)
        self.app.event("reaction_added")(self._on_reaction)
        self.app.event("reaction_removed")(self._on_reaction)
        self._bot_user: str | None = None
        self._names: dict[str, str] = {}
        self._reactions = asyncio.Lock()
        self.replies_sent = 0  # finished replies, for health checks and logs
        self.messages_handled = 0  # every message the room saw, answered or only recorded
        self.reactions_counted = 0  # reactions that changed a pitch's votes

    async def bot_user_id(self) -> str:
        if self._bot_user is None:
            self._bot_user = str((await self.client.auth_test())["user_id"])
        return self._bot_user

    async def display_name(self, user: str, fallback: str | None = None) -> str:
        """A writer's name as the room knows it (needs users:read); the ID if unavailable.
        Names credit ideas in riffs and wrap-ups, where a bare ID means nothing."""
        if user not in self._names:
            try:
                info = (await self.client.users_info(user=user))["user"]
                profile = info.get("profile", {})
                self._names[user] = str(
                    profile.get("display_name") or profile.get("real_name") or info["name"]
                )
            except Exception:  # a missing scope must not cost the writer their answer
                log.warning("users.info failed for a user; using the ID as the name")
                return fallback or user
        return self._names[user]

    async def _incoming(
        self, body: dict[str, Any], event: dict[str, Any], thread: str, **flags: bool
    ) -> IncomingMessage:
        workspace, channel, user = str(body.get("team_id", "")), event["channel"], event["user"]
        return IncomingMessage(
            platform=PLATFORM,
            workspace=workspace,
            channel=channel,
            thread=thread,
            author=await self.display_name(user),
            author_id=user,
            text=_MENTION.sub("", event.get("text", "")).strip(),
            message_id=f"{channel}/{event['ts']}",
            link=thread_link(workspace, channel, thread),
            may_edit_canon=user in self._canon_editors,
            raw=body,
            **flags,
        )

    # ---- events --------------------------------------------------------------------------
    async def _on_mention(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if not self._state.first_delivery(PLATFORM, str(body.get("event_id"))):
            return
        thread = event.get("thread_ts") or event["ts"]
        await self._converse(body, event, thread, thread, mentions_bot=True)

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("subtype") or event.get("bot_id") or "user" not in event:
            return  # edits, joins, bot posts (ours included)
        bot = await self.bot_user_id()
        text = event.get("text", "")
        if f"<@{bot}>" in text and event.get("channel_type") != "im":
            return  # the app_mention event answers this one
        workspace = str(body.get("team_id", ""))
        thread_ts = event.get("thread_ts")
        if event.get("channel_type") == "im":
            key_thread, reply_in, flags = thread_ts or "dm", thread_ts, {"mentions_bot": True}
        elif thread_ts and self._state.in_thread(PLATFORM, workspace, event["channel"], thread_ts):
            key_thread, reply_in, flags = thread_ts, thread_ts, {"in_bot_thread": True}
        else:
            return
        if not self._state.first_delivery(PLATFORM, str(body.get("event_id"))):
            return
        await self._converse(body, event, key_thread, reply_in, **flags)

    async def _converse(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        thread: str,
        reply_in: str | None,
        **flags: bool,
    ) -> None:
        workspace, channel = str(body.get("team_id", "")), event["channel"]
        self._state.join_thread(PLATFORM, workspace, channel, thread)
        show = self._shows.resolve(PLATFORM, workspace, channel)
        if show is None:
            await self._post(
                channel, reply_in, escape(str(NoShowForChannel(f"{COMMAND} show NAME")))
            )
            return
        msg = await self._incoming(body, event, thread, **flags)
        await self._stream(channel, reply_in, self._room.handle(msg, show))

    async def _stream(
        self, channel: str, thread_ts: str | None, events: AsyncIterator[Event]
    ) -> None:
        """Stream a reply into the thread (see bot.streaming.deliver)."""

        async def edit(posted: Any, text: str) -> None:
            await self.client.chat_update(channel=channel, ts=posted["ts"], text=text)

        reply = await deliver(
            events,
            post=lambda text: self._post(channel, thread_ts, text),
            edit=edit,
            placeholder="_thinking…_",
            preview=_preview,
            finish=lambda r: split(render(r)),
            interval_s=self._interval,
        )
        self.messages_handled += 1
        if reply is not None:
            self.replies_sent += 1

    async def _post(self, channel: str, thread_ts: str | None, text: str) -> Any:
        return await self.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, unfurl_links=False, unfurl_media=False
        )

    # ---- slash command -------------------------------------------------------------------
    async def _on_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        text = command.get("text", "").strip() or "help"
        await ack(response_type="ephemeral", text=f"_Working on_ `{COMMAND} {escape(text[:100])}`…")
        workspace, channel, user = command["team_id"], command["channel_id"], command["user_id"]
        try:
            if text.split()[0].lower() == "show":
                await respond(response_type="ephemeral", text=escape(self._map_show(command, text)))
                return
            show = self._shows.resolve(PLATFORM, workspace, channel)
            if show is None:
                raise NoShowForChannel(f"{COMMAND} show NAME")
            spec, args = parse_command(text)
        except (BadRequest, InvalidShowName) as exc:
            await respond(response_type="ephemeral", text=escape(str(exc)))
            return
        if spec.name in THREAD_ONLY:
            await respond(
                response_type="ephemeral",
                text=f"Slack has no slash commands inside threads: in the brainstorm thread, "
                f"say `@{escape(await self._bot_name())} {spec.name}`.",
            )
            return
        author = await self.display_name(user, command.get("user_name"))
        msg = IncomingMessage(
            platform=PLATFORM,
            workspace=workspace,
            channel=channel,
            thread=f"command-{user}",
            author=author,
            author_id=user,
            text=text,
            mentions_bot=True,
            may_edit_canon=user in self._canon_editors,
            raw=command,
        )
        if spec.name == "brainstorm":
            await self._open_brainstorm(msg, show, args, respond)
            return
        reply = await self._room.command(msg, show, spec.name, args)
        if not reply.ok:
            await respond(response_type="ephemeral", text=escape(reply.text))
            return
        asked = f"_{escape(author)} asked:_ `{COMMAND} {escape(text)}`"
        parts = split(f"{asked}\n{render(reply)}")
        first = await self._post(channel, None, parts[0])
        for part in parts[1:]:
            await self._post(channel, first["ts"], part)
        self.replies_sent += 1

    async def _open_brainstorm(
        self, msg: IncomingMessage, show: str, args: dict[str, Any], respond: Any
    ) -> None:
        """A parent message in the channel, the opening in its thread. If the opening fails,
        the parent goes again, so no empty brainstorm is left behind."""
        topic = escape(str(args["topic"]))
        parent = await self._post(
            msg.channel, None, f"*Brainstorm:* {topic}\n_opened by {escape(msg.author)}_"
        )
        thread = str(parent["ts"])
        here = msg.model_copy(
            update={"thread": thread, "link": thread_link(msg.workspace, msg.channel, thread)}
        )
        reply = await self._room.command(here, show, "brainstorm", args)
        if not reply.ok:
            await self.client.chat_delete(channel=msg.channel, ts=thread)
            await respond(response_type="ephemeral", text=escape(reply.text))
            return
        self._state.join_thread(PLATFORM, msg.workspace, msg.channel, thread)
        for part in split(render(reply)):
            await self._post(msg.channel, thread, part)
        self.replies_sent += 1

    async def _bot_name(self) -> str:
        return await self.display_name(await self.bot_user_id())

    # ---- reactions: votes on pitches ------------------------------------------------------
    async def _on_reaction(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        # One at a time, in the order they arrived: a quick add-then-remove must end removed.
        async with self._reactions:
            await self._reaction(body, event)

    async def _reaction(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        item = event.get("item", {})
        user = str(event.get("user", ""))
        if item.get("type") != "message" or not user or user == await self.bot_user_id():
            return
        if not self._state.first_delivery(PLATFORM, str(body.get("event_id"))):
            return
        voter = Actor(user, await self.display_name(user))
        pitch = await asyncio.to_thread(
            self._room.react,
            PLATFORM,
            str(body.get("team_id", "")),
            f"{item.get('channel')}/{item.get('ts')}",
            voter,
            str(event.get("reaction", "")),
            event.get("type") == "reaction_added",
        )
        if pitch is not None:
            self.reactions_counted += 1

    def _map_show(self, command: dict[str, Any], text: str) -> str:
        if command["user_id"] not in self._admins:
            return (
                "Only the room's admins can change which show this channel uses. Nothing changed."
            )
        words = text.split()
        if len(words) != 2:
            return f"Usage: {COMMAND} show NAME (one of: {', '.join(self._room.bible.shows())})"
        show = show_slug(words[1])
        if not self._room.bible.has_show(show):
            known = ", ".join(self._room.bible.shows()) or "none yet"
            return f"There is no bible for '{show}' (known shows: {known}). Nothing changed."
        self._state.map_show(
            PLATFORM, command["team_id"], command["channel_id"], show, command["user_id"]
        )
        return f"This channel now works on {show}."


async def serve_http(slack: SlackRoom, host: str, port: int) -> None:
    """Events API and slash commands over HTTP at /slack/events, signatures verified."""
    from aiohttp import web

    runner = web.AppRunner(slack.app.web_app(path="/slack/events"))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def serve_socket_mode(slack: SlackRoom, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    await AsyncSocketModeHandler(slack.app, app_token).start_async()
