"""A scripted model for unit tests of routing, verification and rendering only.

It plays back written text, token by token, as a model would stream it. Every capability
is also tested on the real bundled GGUF; this stands in only where the test is about what
the room does with a model's text (an invented quote, an echo, a loop), which a real model
produces only by chance.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from agents.engine import Completion, Generation, GenerationStats


class ScriptedModel:
    def __init__(
        self, *replies: str, instruct: bool = True, n_ctx: int = 4096, delay_s: float = 0.0
    ) -> None:
        self._replies = list(replies)
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

    def format_chat(self, messages: list[dict[str, str]]) -> str:
        return "".join(f"<{m['role']}>\n{m['content']}\n" for m in messages) + "<assistant>\n"

    async def stream(
        self, gen: Generation, stats: GenerationStats | None = None
    ) -> AsyncIterator[str]:
        self.prompts.append(gen.prompt)
        text = self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]
        for piece in re.findall(r"\s*\S+", text):
            if stats is not None:
                stats.generated_tokens += 1
            if self._delay_s:
                await asyncio.sleep(self._delay_s)
            yield piece

    async def complete(self, gen: Generation) -> Completion:
        stats = GenerationStats()
        return Completion("".join([p async for p in self.stream(gen, stats)]), stats)

    def close(self) -> None:
        pass
