"""A fake Slack Web API on loopback that records every call, plus helpers to run the real
Bolt app over HTTP on loopback and send it bodies signed the way Slack signs them. It also
serves files writers share (``share``) at a ``url_private_download`` of its own, handing
the bytes only to the bot token, as Slack's file host does."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from agents.room import Room
from bot.slack_bot import SlackRoom
from bot.slack_http import PATH, http_app

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
BOT_USER = "UBOT"
TEAM = "T1"
NAMES = {"UDANA": "dana", "USAM": "sam", "UANA": "ana", "ULEE": "lee", BOT_USER: "room-bot"}


@dataclass
class Upload:
    """A file as files_upload_v2 sends it: asked for (getUploadURLExternal), its bytes
    posted to the upload URL, then shared into a channel and thread (completeUploadExternal)."""

    file_id: str
    filename: str
    length: int
    data: bytes | None = None
    channel: str | None = None
    thread_ts: str | None = None
    title: str | None = None
    completed: bool = False


def mention(text: str, ts: str, channel: str = "C1", **extra: str) -> dict[str, str]:
    """An app_mention event from dana, as Slack delivers it."""
    return {
        "type": "app_mention",
        "user": "UDANA",
        "text": f"<@{BOT_USER}> {text}",
        "ts": ts,
        "channel": channel,
        **extra,
    }


@dataclass
class FakeSlack:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # method -> the Slack error code it answers (ok: false), for failing uploads
    errors: dict[str, str] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)  # file ID -> upload
    rate_limit_once: set[str] = field(default_factory=set)
    # method -> the share of its calls answered 429 (Retry-After: 0), drawn from ``rng``
    throttle: dict[str, float] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(12))
    # ts -> what the channel shows: {"channel", "thread_ts", "text", "deleted"}
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    # files writers shared: file ID -> bytes, and every download asked for: (ID, Authorization)
    shared: dict[str, bytes] = field(default_factory=dict)
    downloads: list[tuple[str, str | None]] = field(default_factory=list)
    origin: str = ""  # where the fake listens, set by the harness
    _ts: int = 1000

    def share(
        self, name: str, data: bytes, *, mimetype: str = "text/plain", size: int | None = None
    ) -> dict[str, Any]:
        """A file as a message event carries it; ``size`` may declare another size than the
        bytes have (the event's word is all an adapter has before downloading)."""
        file_id = f"FW{len(self.shared) + 1:03d}"
        self.shared[file_id] = data
        url = f"{self.origin}/files-pri/{TEAM}-{file_id}/download/{name}"
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1],
            "size": len(data) if size is None else size,
            "mode": "hosted",
            "url_private": url.replace("/download/", "/"),
            "url_private_download": url,
        }

    async def download(self, request: web.Request) -> web.Response:
        """Slack's file host: the bytes for the bot token; without it, a sign-in page."""
        file_id = request.match_info["file"].split("-", 1)[1]
        auth = request.headers.get("Authorization")
        self.downloads.append((file_id, auth))
        if auth != f"Bearer {BOT_TOKEN}":
            return web.Response(text="<html>Sign in to Slack</html>", content_type="text/html")
        if file_id not in self.shared:
            return web.Response(status=404, text="file not found")
        return web.Response(body=self.shared[file_id], content_type="application/octet-stream")

    def named(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        # slack_sdk sends some methods' arguments (chat.delete's) in the query of a POST
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.content_type == "application/json":
            args |= await request.json()
        elif request.method == "POST":
            args |= dict(await request.post())
        if method in self.rate_limit_once:
            self.rate_limit_once.discard(method)
            self.calls.append((f"{method}:429", args))
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        if self.rng.random() < self.throttle.get(method, 0.0):
            self.calls.append((f"{method}:429", args))
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"}
            )
        self.calls.append((method, args))
        if method in self.errors:
            return web.json_response({"ok": False, "error": self.errors[method]})
        self._track(method, args)
        if method.startswith("files."):
            return self._files(request, method, args)
        if method == "auth.test":
            return web.json_response({"ok": True, "user_id": BOT_USER, "team_id": TEAM})
        if method == "users.info":
            uid = str(args.get("user"))
            name = NAMES.get(uid, uid.lower())
            return web.json_response(
                {"ok": True, "user": {"id": uid, "name": name, "profile": {"display_name": name}}}
            )
        if method == "chat.postMessage":
            self._ts += 1
            return web.json_response(
                {"ok": True, "channel": args.get("channel"), "ts": f"{self._ts}.0"}
            )
        return web.json_response({"ok": True})

    def _files(self, request: web.Request, method: str, args: dict[str, Any]) -> web.Response:
        """files_upload_v2's first and last steps; the bytes go to ``upload`` between them."""
        if method == "files.getUploadURLExternal":
            file_id = f"F{len(self.uploads) + 1:04d}"
            self.uploads[file_id] = Upload(file_id, str(args["filename"]), int(args["length"]))
            url = f"{request.url.origin()}/upload/{file_id}"
            return web.json_response({"ok": True, "upload_url": url, "file_id": file_id})
        if method == "files.completeUploadExternal":
            shared = []
            for item in json.loads(args["files"]):
                upload = self.uploads[item["id"]]
                if upload.data is None:
                    return web.json_response({"ok": False, "error": "file_not_found"})
                upload.channel = args.get("channel_id")
                upload.thread_ts = args.get("thread_ts")
                upload.title = item.get("title")
                upload.completed = True
                shared.append(
                    {"id": upload.file_id, "name": upload.filename, "title": upload.title}
                )
            return web.json_response({"ok": True, "files": shared})
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def upload(self, request: web.Request) -> web.Response:
        """The upload URL: the file's bytes, exactly as sent (Slack answers 'OK - LENGTH')."""
        upload = self.uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="not found")
        upload.data = await request.read()
        self.calls.append(("upload", {"file_id": upload.file_id, "length": len(upload.data)}))
        return web.Response(text=f"OK - {len(upload.data)}")

    def files(self) -> list[Upload]:
        """The files shared into a channel, in the order they were asked for."""
        return [u for u in self.uploads.values() if u.completed]

    def _track(self, method: str, args: dict[str, Any]) -> None:
        """Keep what each posted message shows now, as a writer would see the channel."""
        if method == "chat.postMessage":
            self.messages[f"{self._ts + 1}.0"] = {
                "channel": args.get("channel"),
                "thread_ts": args.get("thread_ts"),
                "text": args.get("text"),
                "blocks": args.get("blocks"),
                "deleted": False,
            }
        elif method == "chat.update" and args.get("ts") in self.messages:
            self.messages[str(args["ts"])]["text"] = args.get("text")
            self.messages[str(args["ts"])]["blocks"] = args.get("blocks")
        elif method == "chat.delete" and args.get("ts") in self.messages:
            self.messages[str(args["ts"])]["deleted"] = True

    def shown_in(self, thread_ts: str) -> list[str]:
        """The texts a thread shows in the end: posted, last edited, not deleted."""
        return [
            str(m["text"])
            for m in self.messages.values()
            if m["thread_ts"] == thread_ts and not m["deleted"]
        ]

    async def respond(self, request: web.Request) -> web.Response:
        self.calls.append(("respond", await request.json()))
        return web.Response(text="ok")


@dataclass
class SlackHarness:
    fake: FakeSlack
    events_url: str
    respond_url: str
    session: aiohttp.ClientSession
    slack: SlackRoom

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
        retry: int | None = None,
    ) -> int:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        }
        if retry is not None:  # Slack's redelivery of an event it got no 2xx for in time
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        async with self.session.post(self.events_url, data=body, headers=headers) as resp:
            await resp.read()
            return resp.status

    async def event(self, event: dict[str, Any], event_id: str | None, **kw: Any) -> int:
        """An Events API delivery; ``event_id=None`` leaves the field out."""
        body: dict[str, Any] = {
            "type": "event_callback",
            "team_id": TEAM,
            "api_app_id": "A1",
            "event": event,
        }
        if event_id is not None:
            body["event_id"] = event_id
        return await self.post(json.dumps(body), "application/json", **kw)

    async def command(self, text: str, user: str = "UDANA", channel: str = "C1") -> int:
        form = {
            "command": "/wr",
            "text": text,
            "team_id": TEAM,
            "channel_id": channel,
            "user_id": user,
            "user_name": "dana",
            "response_url": self.respond_url,
            "trigger_id": "x",
        }
        return await self.post(urlencode(form), "application/x-www-form-urlencoded")

    async def wait_for(self, check: Callable[[], bool], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; Slack calls so far: {self.fake.calls}")
            await asyncio.sleep(0.05)


def room_maker(room: Room, *, interval: float = 0.2) -> Callable[[str], SlackRoom]:
    """The adapter under test, built once the fake Web API's address is known (who is an
    admin or a canon editor comes from the test settings: UADMIN, UANA)."""

    def make(api_url: str) -> SlackRoom:
        return SlackRoom(
            room,
            bot_token=BOT_TOKEN,
            signing_secret=SIGNING_SECRET,
            api_url=api_url,
            update_interval_s=interval,
        )

    return make


@asynccontextmanager
async def slack_harness(make_room: Callable[[str], SlackRoom]) -> AsyncIterator[SlackHarness]:
    """Start the fake Web API, build the adapter against it, serve Bolt on loopback."""
    fake = FakeSlack()
    api = web.Application()
    api.router.add_post("/api/{method}", fake.handle)
    api.router.add_get("/api/{method}", fake.handle)
    api.router.add_post("/respond", fake.respond)
    api.router.add_post("/upload/{file_id}", fake.upload)
    api.router.add_get("/files-pri/{file}/download/{name}", fake.download)
    api_runner = web.AppRunner(api)
    await api_runner.setup()
    api_site = web.TCPSite(api_runner, "127.0.0.1", 0)
    await api_site.start()
    api_port = api_runner.addresses[0][1]
    fake.origin = f"http://127.0.0.1:{api_port}"
    slack = make_room(f"http://127.0.0.1:{api_port}/api/")
    bolt_runner = web.AppRunner(http_app(slack.app, slack.verifier))
    await bolt_runner.setup()
    await web.TCPSite(bolt_runner, "127.0.0.1", 0).start()
    bolt_port = bolt_runner.addresses[0][1]
    async with aiohttp.ClientSession() as session:
        try:
            yield SlackHarness(
                fake,
                f"http://127.0.0.1:{bolt_port}{PATH}",
                f"http://127.0.0.1:{api_port}/respond",
                session,
                slack,
            )
        finally:
            await bolt_runner.cleanup()
            await api_runner.cleanup()
