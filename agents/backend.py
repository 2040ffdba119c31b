"""What the room needs from a model, whatever runs it.

The in-process llama.cpp engine is one backend; a scripted fake for unit tests of routing
and rendering is another. Everything above the engine (agent, brainstorms, structured
commands, LangChain wrapper) depends on this, not on the engine class.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from agents.engine import Completion, Generation, GenerationStats


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

    def format_chat(self, messages: list[dict[str, str]]) -> str: ...

    def stream(
        self, gen: Generation, stats: GenerationStats | None = None
    ) -> AsyncIterator[str]: ...

    async def complete(self, gen: Generation) -> Completion: ...
