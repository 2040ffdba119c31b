"""A fake Discord REST API on loopback, and the few discord.py internals the tests need to
feed raw gateway payloads through discord.py's own parsing. Pinned to discord.py 2.x; these
private hooks live here and nowhere else. It also serves the files writers attach
(``attach``) at a CDN address of its own, which ``Attachment.read()`` fetches."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import discord
from aiohttp import BodyPartReader, web

from agents.room import Room
from bot.discord_bot import DiscordRoom, use_api_base

GUILD, CHANNEL, BOT, APP = 900, 901, 800, 700
WRITER, ADMIN_ROLE, CANON_ROLE = 555, 777, 4242
_ids = itertools.count(10_000)
THREAD_EXTRA = {
    "message_count": 0,
    "member_count": 1,
    "rate_limit_per_user": 0,
    "flags": 0,
    "last_message_id": None,
}


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py decodes JSON only when Content-Type is exactly application/json.
    return web.Response(
        status=status, body=json.dumps(data).encode(), headers={"Content-Type": "application/json"}
    )


def user(uid: int, name: str, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(uid),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
    }


@dataclass(frozen=True)
class SentFile:
    """A file discord.py attached to a request (``files[n]`` of a multipart body)."""

    path: str
    field: str
    filename: str
    data: bytes


@dataclass
class FakeDiscord:
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    files: list[SentFile] = field(default_factory=list)  # every file attached, in order
    # an HTTP status every request that carries files is answered with (413: too large)
    refuse_files: int | None = None
    forbidden: set[str] = field(default_factory=set)  # paths (regexes) answered with 403
    # HTTP method -> the share of its calls answered 429 (retry after 10 ms), drawn from ``rng``
    throttle: dict[str, float] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(12))
    # message ID -> what the channel shows: {"channel", "content", "deleted"}
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    threads: dict[str, str] = field(default_factory=dict)  # thread ID -> the message it is on
    # files writers attached: attachment ID -> bytes, and every download (ID) asked for
    attached: dict[str, bytes] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)
    origin: str = ""  # where the fake listens, set by the harness

    def attach(
        self, name: str, data: bytes, *, content_type: str = "text/plain", size: int | None = None
    ) -> dict[str, Any]:
        """An attachment as a message payload carries it; ``size`` may declare another size
        than the bytes have."""
        aid = str(next(_ids))
        self.attached[aid] = data
        url = f"{self.origin}/attachments/{CHANNEL}/{aid}/{name}"
        return {
            "id": aid,
            "filename": name,
            "size": len(data) if size is None else size,
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }

    async def cdn(self, request: web.Request) -> web.Response:
        aid = request.match_info["aid"]
        self.downloads.append(aid)
        if aid not in self.attached:
            return web.Response(status=404, text="not found")
        return web.Response(body=self.attached[aid], content_type="application/octet-stream")

    def named(self, method: str, pattern: str) -> list[dict[str, Any]]:
        return [body for m, path, body in self.calls if m == method and re.search(pattern, path)]

    async def handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        body: dict[str, Any] = {}
        if request.content_type == "multipart/form-data":
            before = len(self.files)
            body = await self._multipart(request, path)
            if self.refuse_files is not None:
                del self.files[before:]  # refused: none of them arrived
                self.calls.append((f"{request.method}:{self.refuse_files}", path, body))
                refused = {"message": "Request entity too large", "code": 40005}
                return _json(refused, status=self.refuse_files)
        elif request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json" and raw:
                body = json.loads(raw)
            elif raw:
                body = {"raw": raw.decode("utf-8", "replace")}
        if self.rng.random() < self.throttle.get(request.method, 0.0):
            self.calls.append((f"{request.method}:429", path, body))
            limited = {"message": "You are being rate limited.", "retry_after": 0.01}
            # discord.py reads a 429 without a Via header as a Cloudflare ban
            return web.Response(
                status=429,
                body=json.dumps({**limited, "global": False}).encode(),
                headers={"Content-Type": "application/json", "Via": "1.1 google"},
            )
        self.calls.append((request.method, path, body))
        if any(re.fullmatch(p, path) for p in self.forbidden):
            return _json({"message": "Missing Permissions", "code": 50013}, status=403)
        if path == "/users/@me":
            return _json(user(BOT, "room-bot", bot=True))
        if path == "/oauth2/applications/@me":
            return _json(
                {
                    "id": str(APP),
                    "name": "writersroom",
                    "icon": None,
                    "description": "",
                    "bot_public": False,
                    "bot_require_code_grant": False,
                    "verify_key": "0" * 64,
                    "owner": user(1, "owner"),
                    "flags": 0,
                }
            )
        m = re.fullmatch(r"/channels/(\d+)/messages/(\d+)/threads", path)
        if m:
            tid = next(_ids)
            self.threads[str(tid)] = m.group(2)
            return _json(
                {
                    "id": str(tid),
                    "guild_id": str(GUILD),
                    "parent_id": m.group(1),
                    "type": 11,
                    "name": body.get("name", "t"),
                    "owner_id": str(BOT),
                    **THREAD_EXTRA,
                    "thread_metadata": {
                        "archived": False,
                        "auto_archive_duration": 1440,
                        "archive_timestamp": "2026-01-01T00:00:00+00:00",
                        "locked": False,
                    },
                }
            )
        m = re.fullmatch(r"/channels/(\d+)/messages(?:/(\d+))?", path)
        if m:
            mid = m.group(2) or str(next(_ids))
            if request.method == "DELETE":
                self.messages.get(mid, {})["deleted"] = True
                return web.Response(status=204)
            shown = self.messages.setdefault(mid, {"channel": m.group(1), "deleted": False})
            shown["content"] = body.get("content", shown.get("content", ""))
            return _json(
                message_payload(int(m.group(1)), BOT, shown["content"], mid=int(mid), bot=True)
            )
        m = re.fullmatch(r"/interactions/(\d+)/[^/]+/callback", path)
        if m:
            flags = body.get("data", {}).get("flags", 0)
            return _json(
                {
                    "interaction": {
                        "id": m.group(1),
                        "type": 2,
                        "response_message_loading": True,
                        "response_message_ephemeral": bool(flags & 64),
                    }
                }
            )
        m = re.fullmatch(r"/webhooks/\d+/[^/]+(?:/messages/@original)?", path)
        if m:
            return _json(message_payload(CHANNEL, BOT, body.get("content", ""), bot=True))
        return web.Response(status=204)

    async def _multipart(self, request: web.Request, path: str) -> dict[str, Any]:
        """A message with files, as discord.py sends it: the JSON it would have sent alone
        in ``payload_json`` (recorded as the call's body), each file in ``files[n]`` (its
        name and exact bytes recorded in ``files``)."""
        body: dict[str, Any] = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            assert isinstance(part, BodyPartReader), "discord.py does not nest multiparts"
            data = await part.read()
            if part.name == "payload_json":
                body = json.loads(data)
            else:
                self.files.append(SentFile(path, str(part.name), str(part.filename), bytes(data)))
        return body

    def files_in(self, channel: str) -> list[SentFile]:
        """The files sent to a channel or thread (as messages there, not webhooks)."""
        return [f for f in self.files if re.fullmatch(rf"/channels/{channel}/messages", f.path)]


def message_payload(
    channel: int,
    author: int,
    content: str,
    *,
    mid: int | None = None,
    bot: bool = False,
    mentions: list[int] = (),
    guild: bool = True,
    name: str = "dana",
    roles: list[int] = (),
    attachments: list[dict[str, Any]] = (),
) -> dict[str, Any]:  # type: ignore[assignment]
    data = {
        "id": str(mid or next(_ids)),
        "channel_id": str(channel),
        "author": user(author, "room-bot" if bot else name, bot=bot),
        "content": content,
        "timestamp": "2026-11-22T00:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [user(m, "room-bot", True) for m in mentions],
        "mention_roles": [],
        "attachments": list(attachments),
        "embeds": [],
        "pinned": False,
        "type": 0,
    }
    if guild:
        data["guild_id"] = str(GUILD)
        data["member"] = {
            "roles": [str(r) for r in roles],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
    return data


def guild_payload() -> dict[str, Any]:
    return {
        "id": str(GUILD),
        "name": "room",
        "icon": None,
        "owner_id": "1",
        "roles": [
            {
                "id": str(GUILD),
                "name": "@everyone",
                "permissions": "0",
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
            },
            {
                "id": str(CANON_ROLE),
                "name": "canon",
                "permissions": "0",
                "position": 2,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
            },
            {
                "id": str(ADMIN_ROLE),
                "name": "showrunner",
                "permissions": "0",
                "position": 1,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
            },
        ],
        "channels": [
            {
                "id": str(CHANNEL),
                "type": 0,
                "name": "writers",
                "position": 0,
                "permission_overwrites": [],
                "guild_id": str(GUILD),
            },
            *(
                {
                    "id": str(CHANNEL + n),
                    "type": 0,
                    "name": f"writers-{n + 1}",
                    "position": n,
                    "permission_overwrites": [],
                    "guild_id": str(GUILD),
                }
                for n in range(1, 5)
            ),
            {
                "id": str(CHANNEL + 50),
                "type": 0,
                "name": "other",
                "position": 1,
                "permission_overwrites": [],
                "guild_id": str(GUILD),
            },
        ],
        "members": [],
        "threads": [],
        "emojis": [],
        "stickers": [],
        "features": [],
        "member_count": 2,
        "unavailable": False,
        "large": False,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "system_channel_flags": 0,
        "premium_tier": 0,
        "nsfw_level": 0,
        "preferred_locale": "en-US",
        "afk_timeout": 300,
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def thread_create_payload(tid: int, parent: int) -> dict[str, Any]:
    return {
        "id": str(tid),
        "guild_id": str(GUILD),
        "parent_id": str(parent),
        "type": 11,
        "name": "t",
        "owner_id": str(BOT),
        "newly_created": True,
        **THREAD_EXTRA,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": "2026-01-01T00:00:00+00:00",
            "locked": False,
        },
    }


def interaction_payload(
    name: str,
    options: list[dict[str, Any]],
    *,
    roles: list[int] = (),
    channel: int = CHANNEL,
    uid: int = WRITER,
    who: str = "dana",
) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "id": str(next(_ids)),
        "application_id": str(APP),
        "type": 2,
        "token": "tok",
        "version": 1,
        "guild_id": str(GUILD),
        "channel_id": str(channel),
        "channel": {
            "id": str(channel),
            "type": 0,
            "name": "writers",
            "guild_id": str(GUILD),
            "position": 0,
            "permission_overwrites": [],
        },
        "member": {
            "user": user(uid, who),
            "roles": [str(r) for r in roles],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": "2147483647",
        },
        "data": {"id": str(next(_ids)), "name": name, "type": 1, "options": options},
        "locale": "en-US",
        "guild_locale": "en-US",
        "app_permissions": "2147483647",
        "entitlements": [],
        "attachment_size_limit": 8388608,
        "authorizing_integration_owners": {},
        "context": 0,
    }


def reaction_payload(
    channel: int, message: int, uid: int, emoji: str, *, who: str = "dana", added: bool = True
) -> dict[str, Any]:
    """MESSAGE_REACTION_ADD / _REMOVE as the gateway sends them (a member only on add)."""
    data: dict[str, Any] = {
        "user_id": str(uid),
        "channel_id": str(channel),
        "message_id": str(message),
        "guild_id": str(GUILD),
        "emoji": {"id": None, "name": emoji},
        "type": 0,
        "burst": False,
    }
    if added:
        data["member"] = {
            "user": user(uid, who),
            "roles": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
        data["burst_colors"] = []
    return data


@dataclass
class DiscordHarness:
    fake: FakeDiscord
    bot: DiscordRoom

    def message(self, data: dict[str, Any]) -> None:
        self.bot._connection.parse_message_create(data)

    def interaction(self, data: dict[str, Any]) -> None:
        self.bot._connection.parse_interaction_create(data)

    def thread_created(self, data: dict[str, Any]) -> None:
        self.bot._connection.parse_thread_create(data)

    def reaction(self, data: dict[str, Any]) -> None:
        if "member" in data:
            self.bot._connection.parse_message_reaction_add(data)
        else:
            self.bot._connection.parse_message_reaction_remove(data)

    def shown_in(self, channel: str) -> list[str]:
        """The texts a channel or thread shows in the end: posted, last edited, not deleted."""
        return [
            str(m["content"])
            for m in self.fake.messages.values()
            if m["channel"] == channel and not m["deleted"]
        ]

    async def wait_for(self, check: Callable[[], bool], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; REST calls: {self.fake.calls}")
            await asyncio.sleep(0.05)


def bot_maker(room: Room) -> Callable[[], DiscordRoom]:
    """The bot under test, built inside the harness (ADMIN_ROLE and CANON_ROLE are the test
    settings' admin and canon-editor roles)."""
    return lambda: DiscordRoom(room, update_interval_s=0.2)


@asynccontextmanager
async def discord_harness(make_bot: Callable[[], DiscordRoom]) -> AsyncIterator[DiscordHarness]:
    fake = FakeDiscord()
    api = web.Application()
    api.router.add_route("*", "/api/v10/{path:.*}", fake.handle)
    api.router.add_get("/attachments/{channel}/{aid}/{name}", fake.cdn)
    runner = web.AppRunner(api)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    fake.origin = f"http://127.0.0.1:{port}"
    old_base = discord.http.Route.BASE
    use_api_base(f"http://127.0.0.1:{port}/api/v10")
    bot = make_bot()
    try:
        await bot.login("test-token")
        bot._connection.parse_guild_create(guild_payload())
        yield DiscordHarness(fake, bot)
    finally:
        await bot.close()
        discord.http.Route.BASE = old_base
        await runner.cleanup()
