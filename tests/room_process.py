"""A real room in its own process: `writersroom chat` driven over its stdin and stdout.

Two of these on one data dir and one Chroma server are what a studio runs as its Slack and
its Discord bot: separate processes, each with its own in-memory view of the bible, alive
across many requests. A line is typed as the writer; the reply is everything the room prints
(stdout and stderr, where errors go) until it asks for the next line with its prompt.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import REPO

LIMIT_S = 120.0  # a room that says nothing for this long has hung


class RoomProcess:
    def __init__(self, writer: str, env: dict[str, str], log: Path) -> None:
        """Start `writersroom chat --as WRITER` with ``env`` (WR_* settings) added to a clean
        environment; everything it prints is also written to ``log`` for a failure's report."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("WR_")}
        self.prompt = f"{writer}> "
        self.log = log
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "chat", "--as", writer],
            cwd=REPO,
            env={**base, "PYTHONUNBUFFERED": "1", **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._out = ""
        self._seen = 0  # how much of the output the replies so far have taken
        self._ended = False
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        with self.log.open("w", encoding="utf-8") as log:
            while piece := os.read(self._proc.stdout.fileno(), 65536):
                text = piece.decode("utf-8", errors="replace")
                log.write(text)
                log.flush()
                with self._changed:
                    self._out += text
                    self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def ready(self) -> str:
        """Wait for the room to start (its first prompt); what it printed on the way."""
        return self._until_prompt()

    def send(self, line: str) -> None:
        """Type a line without waiting for the reply (``reply`` reads it)."""
        assert self._proc.stdin is not None
        self._proc.stdin.write((line + "\n").encode())
        self._proc.stdin.flush()

    def reply(self) -> str:
        return self._until_prompt()

    def say(self, line: str) -> str:
        """Type a line and return the room's reply to it."""
        self.send(line)
        return self.reply()

    def printed_since_reply(self) -> str:
        """What the room has printed since its last complete reply (nothing, while it waits)."""
        with self._changed:
            return self._out[self._seen :]

    def _until_prompt(self) -> str:
        deadline = time.monotonic() + LIMIT_S
        with self._changed:
            while (end := self._out.find(self.prompt, self._seen)) < 0:
                left = deadline - time.monotonic()
                if self._ended or left <= 0:
                    raise AssertionError(
                        f"the room {'ended' if self._ended else 'hung'} before its prompt; "
                        f"it printed:\n{self._out[-3000:]}"
                    )
                self._changed.wait(timeout=left)
            text, self._seen = self._out[self._seen : end], end + len(self.prompt)
            return text

    def close(self) -> None:
        """/quit, then make sure it is gone."""
        if self._proc.poll() is None:
            try:
                self.send("/quit")
                self._proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                os.kill(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        if self._proc.stdin is not None:
            self._proc.stdin.close()
