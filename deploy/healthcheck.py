"""Can this bot reach its model server and its Chroma server? Exit 0 if so, 1 if not.

The container health check of deploy/compose.yaml, and the systemd units' wait before a bot
starts (``--wait SECONDS``). A bot exposes no port of its own (Socket Mode and Discord's
gateway are connections it opens), so this checks what it depends on: the model server's
``GET /health`` (llama-server and vLLM both serve it, without the API key) when
WR_LLM_BASE_URL is set, and Chroma's ``GET /api/v2/heartbeat`` when WR_CHROMA_HOST is set.
Whether the bot is connected to Slack or Discord shows in its log, not here.

Reads the environment only (compose and systemd put the settings there); standard library
only, so it runs in a second or less.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

TIMEOUT_S = 5.0


def health_urls(env: Mapping[str, str]) -> dict[str, str]:
    """What to check, by name: the servers the settings in ``env`` point the bot at."""
    urls: dict[str, str] = {}
    base = env.get("WR_LLM_BASE_URL", "").strip().rstrip("/")
    if base:
        # The OpenAI routes live under /v1; /health sits at the server's root.
        root = base[: -len("/v1")] if base.endswith("/v1") else base
        urls["model server"] = f"{root}/health"
    host = env.get("WR_CHROMA_HOST", "").strip()
    if host:
        port = env.get("WR_CHROMA_PORT", "").strip() or "8000"
        urls["Chroma"] = f"http://{host}:{port}/api/v2/heartbeat"
    return urls


def problem(url: str) -> str | None:
    """None when ``url`` answers 2xx; otherwise why not, in a few words."""
    # No proxy: these servers are on the same machine or network, never behind the
    # studio's web proxy, whatever HTTP_PROXY says.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=TIMEOUT_S) as response:
            response.read(1024)
            return None
    except urllib.error.HTTPError as exc:  # 503 while llama-server loads the model
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return str(reason) or type(exc).__name__


def check(env: Mapping[str, str]) -> list[str]:
    """One line for each server that does not answer; empty when all do."""
    failures = []
    for name, url in health_urls(env).items():
        why = problem(url)
        if why is not None:
            failures.append(f"{name} at {url}: {why}")
    return failures


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep trying this long before giving up (default: one try)",
    )
    args = parser.parse_args(argv)
    env = os.environ if env is None else env
    deadline = time.monotonic() + args.wait
    while True:
        failures = check(env)
        if not failures:
            return 0
        if time.monotonic() >= deadline:
            for line in failures:
                print(f"not reachable: {line}", file=sys.stderr)
            return 1
        time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))


if __name__ == "__main__":
    sys.exit(main())
