"""Slack over HTTP: the public edge in front of the Bolt app.

Bolt's own aiohttp server parses a body before it checks the body's signature, so anyone who
can reach the port could make it answer: a form body with `ssl_check=1` got 200, and a body
Bolt could not parse (bad JSON, a list, bytes that are not UTF-8, a non-numeric timestamp)
got 500. Here the signature is checked first, on the raw bytes, and nothing unsigned gets
further than that check: it never reaches Bolt, the room or Slack's Web API. A signed body
that still cannot be read is the sender's mistake (400), not ours (500).
"""

from __future__ import annotations

import logging
import re

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)
PATH = "/slack/events"
# Slack's own forms: seconds since the epoch, and v0= with a SHA-256 HMAC in hex. Anything
# else is refused before the verifier sees it (it raises on a non-numeric timestamp and on
# a signature that is not ASCII).
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
# What Bolt raises on a body it cannot turn into a request (json.JSONDecodeError and
# UnicodeDecodeError are ValueErrors; a JSON list or number fails on .get or len()).
_UNREADABLE = (ValueError, TypeError, AttributeError, KeyError, IndexError)


def signed(verifier: SignatureVerifier, raw: bytes, timestamp: str, signature: str) -> bool:
    """Slack signed these bytes, within the last five minutes."""
    if not (_TIMESTAMP.fullmatch(timestamp) and _SIGNATURE.fullmatch(signature)):
        return False
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:  # Slack sends UTF-8; no valid signature covers other bytes
        return False
    return verifier.is_valid(body, timestamp, signature)


def http_app(app: AsyncApp, verifier: SignatureVerifier, path: str = PATH) -> web.Application:
    """An aiohttp application that serves ``app`` at ``path``, signatures checked first."""

    async def handle(request: web.Request) -> web.Response:
        raw = await request.read()  # over aiohttp's 1 MiB limit: 413 before we get here
        headers = request.headers
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        if not signed(verifier, raw, timestamp, headers.get("X-Slack-Signature", "")):
            log.info("refused a Slack request without a valid, fresh signature")
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=raw.decode("utf-8"),
                query=request.query_string,
                headers=headers,  # type: ignore[arg-type]
            )
        except _UNREADABLE:
            log.warning("a signed Slack request had a body that could not be read")
            return web.json_response({"error": "unreadable request"}, status=400)
        if bolt_request.body.get("ssl_check") == "1":
            # Slack's certificate check. Bolt would answer it before checking the signature
            # (its ssl_check middleware is off in SlackRoom), so it is answered here, after.
            return web.Response(status=200)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    application = web.Application()
    application.router.add_post(path, handle)
    return application
