"""The served model backend: an OpenAI-compatible server (llama.cpp's llama-server, vLLM,
llama-cpp-python's server) through LangChain's ChatOpenAI.

A studio runs one model server for every room: the Slack bot, the Discord bot, several shows.
The server batches parallel streams, so up to ``concurrency`` requests go out at once, the
rest waiting by lane (``agents.llm.gate``). The room's promises hold as they do in process:
one deadline per request with queue time counted, a request dropped by its caller is cut off
at the server (its stream is closed), and a server that is down, slow to take the connection
or failing gets one retry and then a message naming the host, never the key.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import httpx
import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI, OpenAI
from pydantic import SecretStr

from agents.errors import ContextOverflow, DeadlineExceeded, ModelUnavailable, RoomError
from agents.llm.base import (
    ChatMessage,
    Completion,
    GenerationStats,
    StructuredRequest,
    T,
    TextRequest,
)
from agents.llm.gate import FairGate
from agents.llm.prompt import JOINER, defang
from agents.llm.server_info import (
    RemoteTokenizer,
    ServerFacts,
    check_base_url,
    not_answering,
    read_facts,
    refusal_message,
    server_host,
)
from agents.llm.server_probe import response_format
from agents.llm.structured import validated

log = logging.getLogger(__name__)

STRUCTURED_ATTEMPTS = 3
STRUCTURED_REPEAT_PENALTY = 1.15
_CONNECT_S = 5.0
_RETRY_PAUSE_S = 0.5


class _Retryable(Exception):
    """A fault worth one more try: the server is down, not taking the connection in time,
    or failing (5xx, 408, 429). A server that takes the request but is slow is not one."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Models:
    pool: httpx.AsyncClient
    chat: ChatOpenAI
    completion: OpenAI


def to_langchain(messages: tuple[ChatMessage, ...]) -> list[BaseMessage]:
    """Chat turns as LangChain messages, their text defanged: the server tokenizes what it
    is sent with control tokens on, so a planted ``<end_of_turn>`` would be a real one."""
    kinds: dict[str, type[BaseMessage]] = {
        "system": SystemMessage,
        "assistant": AIMessage,
        "user": HumanMessage,
    }
    return [kinds.get(m["role"], HumanMessage)(content=defang(m["content"])) for m in messages]


class ServedBackend:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: SecretStr | None = None,
        model: str | None = None,
        concurrency: int = 4,
        max_queue: int | None = None,
        deadline_s: float = 120.0,
        n_ctx: int = 8192,
        model_kind: str = "auto",
        seed: int = 1234,
    ) -> None:
        self.base_url = check_base_url(base_url)
        self.host = server_host(self.base_url)
        self.deadline_s = deadline_s
        self._seed = seed
        self._model_kind = model_kind
        self._n_ctx = n_ctx
        self._model = model
        self._key = api_key or SecretStr("not-needed")  # the client insists on one
        headers = {"Authorization": f"Bearer {self._key.get_secret_value()}"}
        self._http = httpx.Client(headers=headers, timeout=httpx.Timeout(10.0, connect=_CONNECT_S))
        self._gate = FairGate(concurrency, max_queue)
        self._tokenizer = RemoteTokenizer(self._http, self.base_url, model or "default")
        self.facts: ServerFacts | None = None
        self.schema_dialect = "json_schema"  # set by the start-up check (server_probe)
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Models] = (
            weakref.WeakKeyDictionary()
        )

    # ---- start-up --------------------------------------------------------------------------
    def connect(self) -> ServerFacts:
        """Ask the server what it serves (raises ModelUnavailable when it does not answer);
        the room's context budget follows the server's own window."""
        self.facts = read_facts(self._http, self.base_url, self._model)
        self._model = self.facts.model
        self._tokenizer = RemoteTokenizer(self._http, self.base_url, self.facts.model)
        if self.facts.n_ctx:
            self._n_ctx = self.facts.n_ctx
        return self.facts

    @property
    def model(self) -> str:
        return self._model or "default"

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def is_instruct(self) -> bool:
        """A chat endpoint applies the model's chat template, so a served model answers chat
        turns unless the settings say it is a base model (WR_MODEL_KIND=base), which is then
        given completion prompts on /v1/completions."""
        return self._model_kind != "base"

    def count_tokens(self, text: str) -> int:
        """Tokens of the text as it is sent: defanged, since a joiner can add a token."""
        return self._tokenizer.count(defang(text))

    # ---- the backend operations ------------------------------------------------------------
    async def stream(
        self, request: TextRequest, stats: GenerationStats | None = None
    ) -> AsyncIterator[str]:
        stats = stats if stats is not None else GenerationStats()
        budget = request.deadline_s or self.deadline_s
        deadline = await self._enter(request.lane, budget, stats)
        try:
            async with aclosing(self._attempts(request, deadline, stats)) as pieces:
                async for piece in pieces:
                    yield piece
        except TimeoutError:
            raise DeadlineExceeded(budget, stats.queue_s) from None
        finally:
            self._gate.release()

    async def produce(self, request: StructuredRequest[T]) -> T:
        """JSON under the request's schema (the server constrains decoding to it), validated
        by the same pydantic models and retried the same way as in process. Streamed like any
        answer, so a cut connection and the deadline are handled alike."""
        stats = GenerationStats()
        budget = request.deadline_s or self.deadline_s
        deadline = await self._enter(request.lane, budget, stats)
        form = {"response_format": response_format(self.schema_dialect, request.schema)}

        async def attempt(n: int) -> Completion:
            ask = TextRequest(
                messages=request.messages,
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                seed=self._seed + n,
                repeat_penalty=STRUCTURED_REPEAT_PENALTY,
            )
            parts = [piece async for piece in self._attempts(ask, deadline, stats, form)]
            return Completion("".join(parts), stats)

        try:
            return await validated(request.what, STRUCTURED_ATTEMPTS, attempt, request.build)
        except TimeoutError:
            raise DeadlineExceeded(budget, stats.queue_s) from None
        finally:
            self._gate.release()

    # ---- internals -------------------------------------------------------------------------
    async def _enter(self, lane: str, budget: float, stats: GenerationStats) -> float:
        """Wait for a place at the server; returns the request's deadline (monotonic)."""
        submitted = time.monotonic()
        stats.submitted_at = submitted
        deadline = submitted + budget
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that comes
            # as the place is handed over, and the request would go on for no one.
            async with asyncio.timeout(budget):
                await self._gate.acquire(lane)
        except TimeoutError:
            raise DeadlineExceeded(budget, time.monotonic() - submitted) from None
        stats.queue_s = time.monotonic() - submitted
        return deadline

    async def _attempts(
        self,
        request: TextRequest,
        deadline: float,
        stats: GenerationStats,
        extra: dict[str, Any] | None = None,
    ) -> AsyncGenerator[str, None]:
        """The answer's pieces, with one more try when the server fails before the first
        piece; a failure after it cannot be retried (the writer has seen the start)."""
        for attempt in range(2):
            sent = False
            try:
                async with aclosing(self._pieces(request, deadline, stats, extra or {})) as pieces:
                    async for piece in pieces:
                        sent = True
                        yield piece
                return
            except _Retryable as exc:
                if sent:
                    raise ModelUnavailable(
                        f"The model server at {self.host} stopped in the middle of the "
                        f"answer ({exc.reason}). Nothing was saved. Ask again."
                    ) from None
                if attempt == 1 or deadline - time.monotonic() < _RETRY_PAUSE_S:
                    raise ModelUnavailable(not_answering(self.host, exc.reason)) from None
                log.warning("model server %s: %s; trying once more", self.host, exc.reason)
                await asyncio.sleep(_RETRY_PAUSE_S)

    def _models(self) -> _Models:
        """LangChain's two clients, one pair per event loop: the adapters may each run their
        own loop, and a connection pool made on one loop cannot be used on another. Made
        once per loop, not per request (about 12 ms each)."""
        loop = asyncio.get_running_loop()
        models = self._per_loop.get(loop)
        if models is None or models.pool.is_closed:
            pool = httpx.AsyncClient(timeout=httpx.Timeout(self.deadline_s, connect=_CONNECT_S))
            common: dict[str, Any] = {
                "model": self.model,
                "base_url": self.base_url,
                "api_key": self._key,
                "max_retries": 0,  # one retry, ours, within the deadline
                "http_async_client": pool,
            }
            models = _Models(pool, ChatOpenAI(**common, stream_usage=True), OpenAI(**common))
            self._per_loop[loop] = models
        return models

    def _source(self, request: TextRequest, options: dict[str, Any]) -> AsyncIterator[Any]:
        """LangChain's stream for the request: chat turns through ChatOpenAI, or a base
        model's completion prompt through the completions endpoint."""
        models = self._models()
        if request.prompt is not None:
            return models.completion.astream(defang(request.prompt), **options)
        return models.chat.astream(to_langchain(request.messages), **options)

    async def _pieces(
        self,
        request: TextRequest,
        deadline: float,
        stats: GenerationStats,
        extra: dict[str, Any],
    ) -> AsyncGenerator[str, None]:
        """One try, with the whole deadline. A slow start is not cut short for a retry: a
        server busy with other slots, or with a long cold prompt, would lose that work and
        put the retry at the back of its queue."""
        left = max(deadline - time.monotonic(), 0.0)
        options: dict[str, Any] = {
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stop": list(request.stop) or None,
            "seed": self._seed if request.seed is None else request.seed,
            # the deadline below ends the request; the client's own read limit lies past it
            "timeout": httpx.Timeout(left + 1.0, connect=min(_CONNECT_S, max(left, 0.1))),
            # extra_body: fields outside LangChain's own (response_format among them, so
            # LangChain streams it as any answer rather than parsing it in its own way)
            "extra_body": {**_extra_body(request.max_tokens, request.repeat_penalty), **extra},
        }
        first = 0.0
        try:
            async with aclosing(self._source(request, options)) as chunks:  # type: ignore[type-var]
                while True:
                    try:
                        async with asyncio.timeout(max(deadline - time.monotonic(), 0)):
                            chunk = await anext(chunks)
                    except StopAsyncIteration:
                        return
                    _record_usage(chunk, stats)
                    text = _text_of(chunk)
                    if not text:
                        continue
                    now = time.monotonic()
                    if not first:
                        first = now
                        stats.ttft_s = now - stats.submitted_at
                    stats.generated_tokens += 1
                    stats.decode_s = now - first
                    yield text
        except (openai.APIError, httpx.HTTPError) as exc:
            raise self._fault(exc) from None

    def _fault(self, exc: Exception) -> Exception:
        """An error from the client as the room's own: retryable, or a RoomError to show.
        Only the host and status reach the writer; the exception text (which may echo the
        request) goes to the log at debug level."""
        log.debug("model server %s error: %r", self.host, exc)
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            return _Retryable("it did not respond in time")
        if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
            return _Retryable("the connection failed")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if status >= 500 or status in (408, 429):
                return _Retryable(f"HTTP {status}")
            if status == 400 and _mentions_context(exc):
                return ContextOverflow(self._n_ctx + 1, self._n_ctx)
            if status in (401, 403, 404):
                return ModelUnavailable(refusal_message(self.host, status))
            return RoomError(
                f"The model server at {self.host} turned the request down (HTTP {status}). "
                "Nothing was saved. Try rephrasing; if it keeps happening, tell whoever runs "
                "the room's model server."
            )
        return _Retryable(type(exc).__name__)

    def close(self) -> None:
        self._http.close()
        for loop, models in list(self._per_loop.items()):
            if not loop.is_closed() and not loop.is_running():
                loop.run_until_complete(models.pool.aclose())
        self._per_loop.clear()


def _extra_body(max_tokens: int, repeat_penalty: float) -> dict[str, Any]:
    """Fields that some servers read and others ignore: llama-server's prompt cache (a
    thread's follow-up re-reads only what is new; the server sends it to the slot whose
    cached prompt is most alike), repeat penalties in both dialects, and the answer's length
    under its old name too (LangChain sends max_completion_tokens, which llama-cpp-python's
    server does not read: it would write on until the context is full)."""
    body: dict[str, Any] = {"cache_prompt": True, "max_tokens": max_tokens}
    if repeat_penalty != 1.0:
        body["repeat_penalty"] = repeat_penalty  # llama.cpp
        body["repetition_penalty"] = repeat_penalty  # vLLM
    return body


def _record_usage(chunk: Any, stats: GenerationStats) -> None:
    usage = getattr(chunk, "usage_metadata", None)
    if usage:
        stats.prompt_tokens = int(usage.get("input_tokens") or 0)
        cached = (usage.get("input_token_details") or {}).get("cache_read")
        if cached:
            stats.reused_tokens = int(cached)


def _text_of(chunk: Any) -> str:
    """A streamed piece's text (a chat chunk or a completion string), without the joiners
    ``defang`` put in what was sent, should the model copy one."""
    text = chunk if isinstance(chunk, str) else str(chunk.content)
    return text.replace(JOINER, "")


def _mentions_context(exc: openai.APIStatusError) -> bool:
    text = str(exc).lower()
    return "context" in text and any(w in text for w in ("exceed", "too long", "larger", "size"))
