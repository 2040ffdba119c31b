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
from bot.streaming import relay
from memory.bible import InvalidShowName, show_slug
from memory.room_state import RoomState

log = logging.getLogger(__name__)
COMMAND = "/wr"
PLATFORM = "slack"
_MENTION = re.compile(r"<@[A-Z0-9]+>")


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
        update_interval_s: float = 1.0,
    ) -> None:
        self._room = room
        self._shows = shows
        self._state = state
        self._admins = admins
        self._interval = update_interval_s
        self.client = AsyncWebClient(token=bot_token, base_url=api_url)
        # Slack answers 429 with Retry-After; wait it out instead of dropping the message.
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
        self.app = AsyncApp(client=self.client, signing_secret=signing_secret)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)
        self.app.command(COMMAND)(self._on_command)
        self._bot_user: str | None = None
        self.replies_sent = 0  # finished replies, for health checks and logs

    async def bot_user_id(self) -> str:
        if self._bot_user is None:
            self._bot_user = str((await self.client.auth_test())["user_id"])
        return self._bot_user

    # ---- events --------------------------------------------------------------------------
    async def _on_mention(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if not self._state.first_delivery(PLATFORM, str(body.get("event_id"))):
            return
        thread = event.get("thread_ts") or event["ts"]
        await self._converse(body, event, thread, thread)

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
            key_thread, reply_in = thread_ts or "dm", thread_ts
        elif thread_ts and self._state.in_thread(PLATFORM, workspace, event["channel"], thread_ts):
            key_thread, reply_in = thread_ts, thread_ts
        else:
            return
        if not self._state.first_delivery(PLATFORM, str(body.get("event_id"))):
            return
        await self._converse(body, event, key_thread, reply_in)

    async def _converse(
        self, body: dict[str, Any], event: dict[str, Any], thread: str, reply_in: str | None
    ) -> None:
        workspace, channel = str(body.get("team_id", "")), event["channel"]
        self._state.join_thread(PLATFORM, workspace, channel, thread)
        show = self._shows.resolve(PLATFORM, workspace, channel)
        if show is None:
            await self._post(
                channel, reply_in, escape(str(NoShowForChannel(f"{COMMAND} show NAME")))
            )
            return
        msg = IncomingMessage(
            platform=PLATFORM,
            workspace=workspace,
            channel=channel,
            thread=thread,
            author=event["user"],
            text=_MENTION.sub("", event.get("text", "")).strip(),
            mentions_bot=True,
            raw=body,
        )
        await self._stream(channel, reply_in, self._room.handle(msg, show))

    async def _stream(
        self, channel: str, thread_ts: str | None, events: AsyncIterator[Event]
    ) -> None:
        """Post a placeholder, edit it as tokens arrive (at most once per interval), then
        replace it with the finished reply, continued in further messages if long."""
        first = await self._post(channel, thread_ts, "_thinking…_")
        ts = first["ts"]

        async def show(text: str) -> None:
            text = escape(text)
            shown = text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"
            await self.client.chat_update(channel=channel, ts=ts, text=shown)

        reply = await relay(events, show, self._interval)
        parts = split(render(reply))
        await self.client.chat_update(channel=channel, ts=ts, text=parts[0])
        for part in parts[1:]:
            await self._post(channel, thread_ts, part)
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
        msg = IncomingMessage(
            platform=PLATFORM,
            workspace=workspace,
            channel=channel,
            thread=f"command-{user}",
            author=command.get("user_name", user),
            text=text,
            mentions_bot=True,
            raw=command,
        )
        reply = await self._room.command(msg, show, spec.name, args)
        if not reply.ok:
            await respond(response_type="ephemeral", text=escape(reply.text))
            return
        asked = f"_{escape(command.get('user_name', 'someone'))} asked:_ `{COMMAND} {escape(text)}`"
        parts = split(f"{asked}\n{render(reply)}")
        first = await self._post(channel, None, parts[0])
        for part in parts[1:]:
            await self._post(channel, first["ts"], part)
        self.replies_sent += 1

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
