"""The room in Slack (slack-bolt, async): mentions answered in threads, follow-ups in those
threads without a mention, direct messages, reactions as votes, and one slash command,
`/wr`, whose subcommands are the room's commands.

One slash command with subcommands, rather than one per command: one entry in the app
manifest, no clash with other apps' `/beats` or `/logline`, and the same words as the
terminal room (`/wr logline ...` is `/logline ...` there). This module only translates
Slack's events into the core's and renders replies; every rule lives in the core.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from agents.messages import Attachment, Message, Reaction, Reply, Update, final_reply
from agents.room import Room
from bot.slack_download import attached_files
from bot.slack_files import Post, as_post, attach, posts
from bot.slack_http import http_app
from bot.slack_render import MAX_CHARS, escape, mrkdwn, split
from bot.streaming import deliver

log = logging.getLogger(__name__)
COMMAND = "/wr"
PLATFORM = "slack"
_MENTION = re.compile(r"<@[A-Z0-9]+>")


def reaction_name(token: str) -> str:
    """Slack's reaction name without its modifiers: '-1::skin-tone-2' -> '-1'."""
    return token.split("::", 1)[0].strip(":")


def _preview(text: str) -> str:
    """A reply still being written, escaped and cut to one message."""
    text = escape(text)
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def delivery_key(body: dict[str, Any], event: dict[str, Any]) -> str:
    """The key a delivery is remembered by, so that Slack's retries get one answer. Slack
    repeats the event_id on every retry; where a body has none, the event's own identity
    stands in (every such event used to share the key "None": only the first was answered)."""
    event_id = body.get("event_id")
    if isinstance(event_id, str) and event_id:
        return event_id
    if str(event.get("type", "")).startswith("reaction_"):
        item = event.get("item")
        item = item if isinstance(item, dict) else {}
        who = [event.get(k) for k in ("type", "user", "reaction", "event_ts")]
        return "reaction:" + json.dumps([*who, item.get("channel"), item.get("ts")])
    return "message:" + json.dumps([event.get("channel"), event.get("ts")])


def thread_link(workspace: str, channel: str, thread: str) -> str:
    """The thread in Slack's web client (workspace members can open it)."""
    return f"https://app.slack.com/client/{workspace}/{channel}/thread/{channel}-{thread}"


class _Threads:
    """A brainstorm from `/wr`: a parent message in the channel, the opening in its thread."""

    def __init__(self, slack: SlackRoom, workspace: str, channel: str, author: str) -> None:
        self._slack = slack
        self._workspace, self._channel, self._author = workspace, channel, author

    async def open(self, title: str, name: str) -> tuple[str, str]:
        parent = await self._slack.post(
            self._channel,
            None,
            f"*Brainstorm:* {escape(title)}\n_opened by {escape(self._author)}_",
        )
        ts = str(parent["ts"])
        return ts, thread_link(self._workspace, self._channel, ts)

    async def discard(self, thread: str) -> None:
        await self._slack.client.chat_delete(channel=self._channel, ts=thread)


class SlackRoom:
    def __init__(
        self,
        room: Room,
        *,
        bot_token: str,
        signing_secret: str,
        api_url: str,
        update_interval_s: float = 1.0,
    ) -> None:
        self._room = room
        self._interval = update_interval_s
        self.client = AsyncWebClient(token=bot_token, base_url=api_url)
        self._token, self._api_url = bot_token, api_url  # for files writers attach
        # Slack answers 429 with Retry-After; wait it out instead of dropping the message.
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
        # Bolt answers `ssl_check=1` before it checks the signature, so anyone could get a
        # 200 from it; over HTTP the edge (bot.slack_http) answers it once the signature holds.
        self.app = AsyncApp(
            client=self.client, signing_secret=signing_secret, ssl_check_enabled=False
        )
        self.verifier = SignatureVerifier(signing_secret)
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
        self.reactions_counted = 0  # reactions on pitches that counted as votes

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

    async def _where(self, body: dict[str, Any], channel: str, thread: str, user: str) -> dict:
        workspace = str(body.get("team_id", ""))
        return {
            "platform": PLATFORM,
            "workspace": workspace,
            "channel": channel,
            "thread": thread,
            "author": await self.display_name(user),
            "author_id": user,
            "link": thread_link(workspace, channel, thread),
            "prefix": f"{COMMAND} ",
            "raw": body,
        }

    # ---- messages ------------------------------------------------------------------------
    async def _on_mention(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if not self._room.first_delivery(PLATFORM, delivery_key(body, event)):
            return
        thread = event.get("thread_ts") or event["ts"]
        await self._converse(body, event, thread, thread, mentions_bot=True)

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("subtype") not in (None, "file_share"):
            return  # edits, joins and the like; a file shared with words is a message
        if event.get("bot_id") or "user" not in event:
            return  # bot posts (ours included)
        bot = await self.bot_user_id()
        if f"<@{bot}>" in event.get("text", "") and event.get("channel_type") != "im":
            return  # the app_mention event answers this one
        workspace, thread_ts = str(body.get("team_id", "")), event.get("thread_ts")
        if event.get("channel_type") == "im":
            key_thread, reply_in = thread_ts or "dm", thread_ts
            flags = {"mentions_bot": True, "direct": True}
        elif thread_ts and self._room.in_thread(PLATFORM, workspace, event["channel"], thread_ts):
            key_thread, reply_in, flags = thread_ts, thread_ts, {"in_bot_thread": True}
        else:
            return
        if not self._room.first_delivery(PLATFORM, delivery_key(body, event)):
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
        where = await self._where(body, event["channel"], thread, event["user"])
        files = await attached_files(event, self._token, self._api_url, self._room.max_upload_bytes)
        msg = Message(
            **where,
            text=_MENTION.sub("", event.get("text", "")).strip(),
            message_id=f"{event['channel']}/{event['ts']}",
            in_thread=bool(event.get("thread_ts")),
            files=files,
            **flags,
        )
        await self._stream(event["channel"], reply_in, self._room.handle(msg))

    async def _stream(
        self, channel: str, thread_ts: str | None, updates: AsyncIterator[Update]
    ) -> None:
        """Stream a reply into the thread (see bot.streaming.deliver), then its files."""

        async def edit(posted: Any, part: str | Post) -> None:
            p = as_post(part)
            await self.client.chat_update(
                channel=channel, ts=posted["ts"], text=p.text, blocks=p.blocks
            )

        reply = await deliver(
            updates,
            post=lambda part: self.post(channel, thread_ts, part),
            edit=edit,
            placeholder="_thinking…_",
            preview=_preview,
            finish=lambda r: posts(r, mrkdwn)[0],
            interval_s=self._interval,
            retract=lambda posted: self.client.chat_delete(channel=channel, ts=posted["ts"]),
        )
        if reply is not None:  # counted once its files are there too
            await self._attach(channel, thread_ts, posts(reply, mrkdwn)[1])
            self.replies_sent += 1
        self.messages_handled += 1

    async def post(self, channel: str, thread_ts: str | None, part: str | Post) -> Any:
        p = as_post(part)
        return await self.client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=p.text,
            blocks=p.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )

    async def _attach(self, channel: str, thread_ts: str | None, files: list[Attachment]) -> None:
        """Upload a delivered reply's files next to it (see bot.slack_files.attach)."""
        if files:
            await attach(
                self.client, channel, thread_ts, files, lambda t: self.post(channel, thread_ts, t)
            )

    # ---- the slash command -----------------------------------------------------------------
    async def _on_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        text = command.get("text", "").strip() or "help"
        await ack(response_type="ephemeral", text=f"_Working on_ `{COMMAND} {escape(text[:100])}`…")
        user, channel = command["user_id"], command["channel_id"]
        where = await self._where(command, channel, "", user)
        where["author"] = await self.display_name(user, command.get("user_name"))
        where["link"] = ""
        where["direct"] = command.get("channel_name") == "directmessage" or channel.startswith("D")
        # Slack has no slash commands inside threads: hints say how to ask there instead.
        where["addressed_as"] = f"@{await self.display_name(await self.bot_user_id())}"
        msg = Message(
            **where,
            text=f"/{text}",
            mentions_bot=True,
            threads=_Threads(self, where["workspace"], channel, where["author"]),
        )
        reply = await final_reply(self._room.handle(msg))
        if not reply.ok or reply.private:
            await self._respond_privately(respond, reply)
            return
        if reply.thread:  # a brainstorm: the opening goes in its new thread
            parts, files = posts(reply, mrkdwn)
        else:
            asked = f"_{escape(msg.author)} asked:_ `{COMMAND} {escape(text)}`"
            parts, files = posts(reply, lambda t: f"{asked}\n{mrkdwn(t)}")
        first = await self.post(channel, reply.thread, parts[0])
        for part in parts[1:]:
            await self.post(channel, reply.thread or first["ts"], part)
        # The files hang off the reply, in its thread, as its further parts do.
        await self._attach(channel, reply.thread or str(first["ts"]), files)
        self.replies_sent += 1

    async def _respond_privately(self, respond: Any, reply: Reply) -> None:
        """A reply for the asker only: Slack has no private files, so the writer is told
        which files were left out rather than having them shown to the whole channel."""
        for part in split(mrkdwn(reply.text)):
            await respond(response_type="ephemeral", text=part)
        if reply.files:
            names = ", ".join(f"*{escape(f.name)}*" for f in reply.files)
            await respond(
                response_type="ephemeral",
                text=f"Not attached: {names}. Slack cannot attach files to a reply only "
                "you can see, and posting them would show them to the whole channel.",
            )

    # ---- reactions: votes on pitches ------------------------------------------------------
    async def _on_reaction(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        # One at a time, in the order they arrived: a quick add-then-remove must end removed.
        async with self._reactions:
            await self._reaction(body, event)

    async def _reaction(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        item, user = event.get("item", {}), str(event.get("user", ""))
        if item.get("type") != "message" or not user or user == await self.bot_user_id():
            return
        if not self._room.first_delivery(PLATFORM, delivery_key(body, event)):
            return
        channel, ts = str(item.get("channel")), str(item.get("ts"))
        reaction = Reaction(
            **await self._where(body, channel, ts, user),
            message_id=f"{channel}/{ts}",
            token=str(event.get("reaction", "")),
            meaning=reaction_name(str(event.get("reaction", ""))),
            added=event.get("type") == "reaction_added",
        )
        if (await final_reply(self._room.handle(reaction))).kind == "vote":
            self.reactions_counted += 1


async def serve_http(slack: SlackRoom, host: str, port: int) -> None:
    """Events API and slash commands over HTTP at /slack/events, signatures verified."""
    from aiohttp import web

    runner = web.AppRunner(http_app(slack.app, slack.verifier))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def serve_socket_mode(slack: SlackRoom, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    await AsyncSocketModeHandler(slack.app, app_token).start_async()
