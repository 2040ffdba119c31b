"""What the room needs from a model, whatever runs it: the model-backend seam.

Four operations (and close): stream text for chat messages (or a raw completion prompt, for base
models), produce a pydantic model under a JSON schema, count tokens, and report the context
size. The in-process llama.cpp engine (``agents.llm.llama``) is one backend; the scripted
backend (``agents.llm.scripted``) serves unit tests of routing and rendering. Everything
above this package depends on the Protocol, never on a backend class.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)
ChatMessage = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}


@dataclass(frozen=True)
class TextRequest:
    """One streamed request. ``messages`` are chat turns; a base model is given a raw
    ``prompt`` to continue instead. ``lane`` is the fairness unit (a channel)."""

    messages: tuple[ChatMessage, ...] = ()
    prompt: str | None = None
    lane: str = "default"
    max_tokens: int = 256
    temperature: float = 0.7
    deadline_s: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    repeat_penalty: float = 1.0


@dataclass(frozen=True)
class StructuredRequest(Generic[T]):
    """A result the model writes as JSON under ``schema``; ``build`` turns the parsed JSON
    into the pydantic result (adding what the caller knows, such as sources). ``what`` names
    the result in the writer's words when it cannot be produced."""

    what: str
    messages: tuple[ChatMessage, ...]
    schema: dict[str, Any]
    build: Callable[[dict[str, Any]], T]
    lane: str = "default"
    max_tokens: int = 512
    temperature: float = 0.8
    deadline_s: float | None = None  # queue time included; None: the backend's own


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    reused_tokens: int = 0
    generated_tokens: int = 0
    queue_s: float = 0.0
    ttft_s: float = 0.0  # from submission to the first token
    decode_s: float = 0.0  # from the first token to the last
    grammar_fallbacks: int = 0
    full_vocab_fallbacks: int = 0
    submitted_at: float = 0.0  # time.monotonic() when the request was queued

    @property
    def tokens_per_s(self) -> float:
        return (self.generated_tokens - 1) / self.decode_s if self.decode_s > 0 else 0.0


@dataclass
class Completion:
    text: str
    stats: GenerationStats = field(default_factory=GenerationStats)


@runtime_checkable
class ModelBackend(Protocol):
    @property
    def n_ctx(self) -> int:
        """The context window in tokens."""
        ...

    @property
    def is_instruct(self) -> bool:
        """True when the model answers chat turns; False for a base model."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def stream(
        self, request: TextRequest, stats: GenerationStats | None = None
    ) -> AsyncIterator[str]:
        """Text pieces as they are generated; raises ``RoomError`` subclasses on failure."""
        ...

    async def produce(self, request: StructuredRequest[T]) -> T:
        """A validated result, retried on invalid output; ``StructuredOutputError`` after."""
        ...

    def close(self) -> None:
        """Let go of the model (the in-process weights, a server's connections)."""
        ...
