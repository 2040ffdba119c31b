"""A scripted backend, for unit tests of routing, verification and rendering only.

It plays back written text, piece by piece, as a model would stream it, and builds
structured results from written JSON. Every capability is also tested on the real bundled
GGUF; this stands in only where a test is about what the room does with a model's text (an
invented quote, an echo, a loop), which a real model produces only by chance, or about which
command ran. It is also the smallest complete example of the backend Protocol.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from agents.llm.base import Completion, GenerationStats, StructuredRequest, T, TextRequest
from agents.llm.structured import validated


def transcript(request: TextRequest) -> str:
    """A request as one text, for tests that check what the room sent."""
    if request.prompt is not None:
        return request.prompt
    return "".join(f"<{m['role']}>\n{m['content']}\n" for m in request.messages) + "<assistant>\n"


class ScriptedBackend:
    def __init__(
        self, *replies: str, instruct: bool = True, n_ctx: int = 4096, delay_s: float = 0.0
    ) -> None:
        self._replies = list(replies) or [""]
        self._delay_s = delay_s  # between pieces, so adapters get to show a preview
        self._instruct = instruct
        self._n_ctx = n_ctx
        self.prompts: list[str] = []  # what the room sent, newest last

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def is_instruct(self) -> bool:
        return self._instruct

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + text.count("\n")

    def _next(self) -> str:
        """Replies in turn; the last one repeats."""
        return self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]

    async def stream(
        self, request: TextRequest, stats: GenerationStats | None = None
    ) -> AsyncIterator[str]:
        self.prompts.append(transcript(request))
        for piece in re.findall(r"\s*\S+", self._next()):
            if stats is not None:
                stats.generated_tokens += 1
            if self._delay_s:
                await asyncio.sleep(self._delay_s)
            yield piece

    async def produce(self, request: StructuredRequest[T]) -> T:
        self.prompts.append(transcript(TextRequest(messages=request.messages)))

        async def attempt(n: int) -> Completion:
            return Completion(self._next())

        return await validated(request.what, 3, attempt, request.build)

    def close(self) -> None:
        pass
