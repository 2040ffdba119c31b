"""A fake Hugging Face hub on loopback that answers the requests huggingface_hub makes to
download one LFS file, and records them.

As the real hub does for an LFS file (read from huggingface_hub's file_download.py):
``HEAD /{repo}/resolve/{revision}/{filename}`` answers 302 with ``X-Repo-Commit``,
``X-Linked-Etag`` (the file's sha256, quoted) and ``X-Linked-Size``, and a ``Location`` on
another host (the CDN: here ``localhost`` instead of ``127.0.0.1``, same server), so the
client stops there, takes the metadata from the redirect and drops its token for the GET;
``GET`` on the CDN address serves the bytes, with ``Range`` for a resumed download.

``mode`` chooses what the CDN does: ``ok``; ``cut`` (never sends past half the file, then
drops the connection, whatever Range is asked: huggingface_hub retries a few times and gives
up); ``damaged`` (other bytes of the same length); ``stall`` (half the file, then waits for
``release`` so a test can interrupt the client mid-download).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

COMMIT = "0123456789abcdef0123456789abcdef01234567"
Mode = Literal["ok", "cut", "damaged", "stall"]


@dataclass
class Request:
    method: str
    path: str
    host: str
    authorization: str | None
    range: str | None


@dataclass
class FakeHub:
    repo: str
    filename: str
    body: bytes
    mode: Mode = "ok"
    # the sha256 the hub reports; default: the body's own
    reported_sha256: str | None = None
    requests: list[Request] = field(default_factory=list)
    half_sent: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def gets(self) -> list[Request]:
        """The downloads: GETs of the file's bytes."""
        return [r for r in self.requests if r.method == "GET" and r.path.startswith("/cdn/")]


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    resolve = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return None

        def _record(self) -> None:
            hub.requests.append(
                Request(
                    self.command,
                    self.path,
                    self.headers.get("Host", ""),
                    self.headers.get("Authorization"),
                    self.headers.get("Range"),
                )
            )

        def do_HEAD(self) -> None:
            self._record()
            self._resolve(head=True)

        def do_GET(self) -> None:
            self._record()
            if self.path.startswith("/cdn/"):
                self._serve()
            else:
                self._resolve(head=False)

        def _resolve(self, head: bool) -> None:
            m = resolve.match(self.path.split("?")[0])
            if not m or m["repo"] != hub.repo or m["file"] != hub.filename:
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound" if m else "RepoNotFound")
                self.send_header("X-Error-Message", "not found")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            sha = hub.reported_sha256 or hub.sha256
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{hub.port}/cdn/{sha}")
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("X-Linked-Etag", f'"{sha}"')
            self.send_header("X-Linked-Size", str(len(hub.body)))
            self.send_header("ETag", '"0000000000000000000000000000000000000000"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _serve(self) -> None:
            body = hub.body
            if hub.mode == "damaged":
                body = bytes((b + 1) % 256 for b in body)
            start = 0
            wanted = self.headers.get("Range")
            if wanted and (m := re.match(r"bytes=(\d+)-", wanted)):
                start = int(m.group(1))
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(body) - start))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            half = len(body) // 2
            if hub.mode in ("cut", "stall"):
                if start < half:
                    self.wfile.write(body[start:half])
                    self.wfile.flush()
                hub.half_sent.set()
                if hub.mode == "stall":
                    hub.release.wait(timeout=30)
                self.close_connection = True
                return
            self.wfile.write(body[start:])

    return Handler


@contextmanager
def fake_hub(hub: FakeHub) -> Iterator[FakeHub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    server.daemon_threads = True
    hub.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        hub.release.set()
        server.shutdown()
        server.server_close()
