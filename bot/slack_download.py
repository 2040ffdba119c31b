"""Files writers attach to a message for the bot, downloaded from Slack for the core.

A file shared in Slack comes with its ``url_private_download``, which gives the bytes to the
bot token (the app's ``files:read`` scope). The declared size is checked first, so a file
over the upload limit is refused without a download; the download itself is capped too.
The token goes only to Slack's own file host (or the Web API's host, where tests point it),
never follows a redirect, and neither it nor the file's address is logged.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from agents.messages import Inbound

log = logging.getLogger(__name__)
TIMEOUT_S = 60
NO_SCOPE = (
    "Slack did not hand it to the bot (the app may need the files:read scope: ask whoever "
    "runs the bot to add it and reinstall the app)"
)


def trusted_host(url: str, api_url: str) -> bool:
    """Slack's own file host over https, or the host the Web API is served from."""
    where, api = urlsplit(url), urlsplit(api_url)
    if where.scheme == "https" and (where.hostname or "").endswith(".slack.com"):
        return True
    return (where.scheme, where.netloc) == (api.scheme, api.netloc) and bool(where.netloc)


def declared(file: dict[str, Any]) -> Inbound:
    """What the event says of a file, before anything is downloaded."""
    size = file.get("size")
    return Inbound(
        name=str(file.get("name") or file.get("title") or "the attached file"),
        mime=str(file.get("mimetype") or ""),
        size=size if isinstance(size, int) and size > 0 else 0,
    )


async def download(file: dict[str, Any], token: str, api_url: str, max_bytes: int) -> Inbound:
    """One shared file's bytes (see the module's notes), or the reason it has none."""
    inbound = declared(file)
    if inbound.size > max_bytes:
        return inbound.model_copy(update={"error": "it is too big"})  # never downloaded
    url = file.get("url_private_download") or file.get("url_private")
    if not isinstance(url, str) or not url or file.get("mode") in ("external", "tombstone"):
        why = "Slack gave no copy of it to download (a link to another service, or deleted)"
        return inbound.model_copy(update={"error": why})
    if not trusted_host(url, api_url):
        why = "it is not on Slack's own file server, so the bot did not fetch it"
        return inbound.model_copy(update={"error": why})
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(
                url, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False
            ) as resp,
        ):
            if resp.status != 200:
                log.warning("slack file %s: HTTP %s", file.get("id"), resp.status)
                return inbound.model_copy(update={"error": NO_SCOPE})
            if resp.content_type == "text/html" and "html" not in inbound.mime:
                log.warning("slack file %s: a web page instead of the file", file.get("id"))
                return inbound.model_copy(update={"error": NO_SCOPE})
            data = bytearray()
            async for chunk in resp.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > max_bytes:  # the declared size was wrong: stop reading
                    size = max(inbound.size, len(data))
                    return inbound.model_copy(update={"size": size, "error": "it is too big"})
    except (TimeoutError, aiohttp.ClientError) as exc:
        # The exception's text can hold the URL: only its kind is logged.
        log.warning("slack file %s: download failed (%s)", file.get("id"), type(exc).__name__)
        why = "it could not be downloaded from Slack; try again"
        return inbound.model_copy(update={"error": why})
    return inbound.model_copy(update={"data": bytes(data), "size": len(data)})


async def attached_files(
    event: dict[str, Any], token: str, api_url: str, max_bytes: int
) -> list[Inbound]:
    """The files a message carries: the one file downloaded; with several, none is
    downloaded (the core reads one at a time and says so)."""
    files = [f for f in event.get("files") or [] if isinstance(f, dict)]
    if len(files) != 1:
        return [declared(f) for f in files]
    return [await download(files[0], token, api_url, max_bytes)]
