"""What the room asks an OpenAI-compatible model server besides completions: which model it
serves, its context size, its parallel slots, and token counts.

Servers differ here, so each question tries the dialects in turn and remembers the one that
answered: llama.cpp's llama-server (``/props``, ``/tokenize`` with ``content``), vLLM
(``max_model_len`` in ``/v1/models``, ``/tokenize`` with ``prompt``) and llama-cpp-python's
server (``/extras/tokenize``). A server that answers none of them still works: token counts
are then estimated on the safe side.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from agents.errors import ModelUnavailable

log = logging.getLogger(__name__)

# No tokenizer writes fewer than one token per 3 characters of English prose often enough to
# matter; overestimating only trims history sooner, underestimating would overflow.
CHARS_PER_TOKEN_ESTIMATE = 3
TOKEN_CACHE = 4096  # texts whose counts are kept
TOKENIZE_TIMEOUT = httpx.Timeout(2.0, connect=1.0)
QUIET_S = 30.0  # after a failed count, estimate this long before asking again


def server_host(base_url: str) -> str:
    """The host:port a writer may be told about: never a path, query or credentials."""
    parts = urlsplit(base_url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


def server_root(base_url: str) -> str:
    """The server's root: llama-server and vLLM keep /tokenize and /props beside /v1."""
    url = base_url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def check_base_url(url: str) -> str:
    """A base URL the room can use, or ValueError saying what is wrong with it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"'{url}' is not a server address; it should look like http://HOST:8080/v1"
        )
    if parts.username or parts.password:
        raise ValueError(
            "must not carry a user name or password (they would show in logs); "
            "put the key in WR_LLM_API_KEY"
        )
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or fragment; it should end at /v1")
    return url.strip().rstrip("/")


def key_in_clear(url: str) -> bool:
    """Plain http to a host other than this machine: an API key would cross the network
    readable by anyone on the way."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


@dataclass(frozen=True)
class ServerFacts:
    model: str
    n_ctx: int | None  # per request; None when the server does not say
    slots: int | None  # requests it runs at once; None when it does not say
    chat_template: str | None


def _get(client: httpx.Client, url: str) -> Any:
    response = client.get(url)
    response.raise_for_status()
    return response.json()


def read_facts(client: httpx.Client, base_url: str, model: str | None) -> ServerFacts:
    """Ask the server what it serves; raises ModelUnavailable when it does not answer."""
    host = server_host(base_url)
    try:
        listed = _get(client, f"{base_url}/models")
    except httpx.HTTPStatusError as exc:
        raise ModelUnavailable(refusal_message(host, exc.response.status_code)) from None
    except (httpx.HTTPError, ValueError) as exc:
        raise ModelUnavailable(not_answering(host, type(exc).__name__)) from None
    if not isinstance(listed, dict) or not isinstance(listed.get("data", []), list):
        raise ModelUnavailable(
            f"The model server at {host} answered /models with something that is not an "
            "OpenAI-compatible model list. WR_LLM_BASE_URL should end in /v1, like "
            "http://HOST:8080/v1."
        )
    served = [m for m in listed.get("data", []) if isinstance(m, dict)]
    names = [str(m.get("id")) for m in served]
    if model is not None and names and model not in names:
        raise ModelUnavailable(
            f"The model server at {host} does not serve '{model}' (WR_LLM_MODEL); it serves: "
            f"{', '.join(names)}. Fix WR_LLM_MODEL in .env, or leave it empty to use the "
            "server's own model."
        )
    chosen = model or (names[0] if names else "default")
    n_ctx = next((m.get("max_model_len") for m in served if m.get("id") == chosen), None)
    slots, template = None, None
    try:  # llama-server's own properties
        props = _get(client, f"{server_root(base_url)}/props")
        defaults = props.get("default_generation_settings") or {}
        n_ctx = n_ctx or defaults.get("n_ctx")
        slots = props.get("total_slots")
        template = props.get("chat_template") or None
    except (httpx.HTTPError, ValueError, AttributeError):  # not llama-server, or not as known
        pass
    return ServerFacts(
        chosen, _int(n_ctx), _int(slots), template if isinstance(template, str) else None
    )


def _int(value: Any) -> int | None:
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


class RemoteTokenizer:
    """Token counts from the server that will read the text; cached, since the room counts
    the same history turns and bible sections again on every request.

    Counting is synchronous in the backend seam, so it runs on the caller's event loop: each
    ask is held to a short timeout, and after a failure the server is not asked again for a
    while (counts are estimated meanwhile, and not cached), so a model server that has gone
    quiet cannot stall every channel of a bot behind a token count."""

    def __init__(self, client: httpx.Client, base_url: str, model: str) -> None:
        self._client = client
        self._root = server_root(base_url)
        self._model = model
        self._dialect: str | None = None  # the first that answered
        self._known: OrderedDict[str, int] = OrderedDict()
        self._quiet_until = 0.0

    def count(self, text: str) -> int:
        if not text:
            return 0
        if text in self._known:
            self._known.move_to_end(text)
            return self._known[text]
        if time.monotonic() >= self._quiet_until:
            dialects = [self._dialect] if self._dialect else ["llama", "vllm", "extras"]
            for dialect in dialects:
                try:
                    counted = self._ask(dialect, text)
                except (httpx.HTTPError, ValueError, KeyError, TypeError):
                    continue
                self._known[text] = counted
                if len(self._known) > TOKEN_CACHE:
                    self._known.popitem(last=False)
                return counted
            log.warning("the model server counts no tokens; estimating them for a while")
            self._quiet_until = time.monotonic() + QUIET_S
        return len(text) // CHARS_PER_TOKEN_ESTIMATE + 1

    def _ask(self, dialect: str, text: str) -> int:
        if dialect == "llama":  # untrusted text: control-token look-alikes count as text
            body: dict[str, Any] = {"content": text, "add_special": False, "parse_special": False}
            url = f"{self._root}/tokenize"
        elif dialect == "vllm":
            body = {"model": self._model, "prompt": text, "add_special_tokens": False}
            url = f"{self._root}/tokenize"
        else:
            body, url = {"input": text}, f"{self._root}/extras/tokenize"
        response = self._client.post(url, json=body, timeout=TOKENIZE_TIMEOUT)
        response.raise_for_status()
        data = response.json()
        count = int(data["count"]) if "count" in data else len(data["tokens"])
        self._dialect = dialect
        return count


def not_answering(host: str, reason: str) -> str:
    return (
        f"The model server at {host} is not answering ({reason}). Nothing was saved. Ask again "
        "in a minute; if it keeps happening, tell whoever runs the room's model server."
    )


def refusal_message(host: str, status: int) -> str:
    if status in (401, 403):
        return (
            f"The model server at {host} refused the room's API key (HTTP {status}). Whoever "
            "runs the bot should check WR_LLM_API_KEY against the server's key."
        )
    if status == 404:
        return (
            f"The model server at {host} has no OpenAI-compatible API at that address "
            "(HTTP 404). WR_LLM_BASE_URL should end in /v1, like http://HOST:8080/v1."
        )
    return not_answering(host, f"HTTP {status}")
