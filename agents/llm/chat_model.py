"""A LangChain chat model over any model backend.

LangChain composes the conversation; the backend owns scheduling, deadlines and the KV
cache. Streaming goes token by token through ``astream``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from agents.llm.base import GenerationStats, ModelBackend, TextRequest

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


def to_chat_dicts(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages -> role/content dicts, merging consecutive same-role turns."""
    out: list[dict[str, str]] = []
    for message in messages:
        role = _ROLES.get(message.type, "user")
        content = message.content if isinstance(message.content, str) else str(message.content)
        if out and out[-1]["role"] == role and role != "system":
            out[-1]["content"] += "\n\n" + content
        else:
            out.append({"role": role, "content": content})
    return out


class LocalChatModel(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: ModelBackend
    lane: str = "default"
    max_tokens: int = 512
    temperature: float = 0.7
    deadline_s: float | None = None
    stats: GenerationStats | None = None

    @property
    def _llm_type(self) -> str:
        return "writersroom-backend"

    def _request(self, messages: list[BaseMessage], stop: list[str] | None) -> TextRequest:
        return TextRequest(
            messages=tuple(to_chat_dicts(messages)),
            lane=self.lane,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            deadline_s=self.deadline_s,
            stop=tuple(stop or ()),
        )

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request = self._request(messages, stop)
        async for piece in self.engine.stream(request, self.stats):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager is not None:
                await run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        parts = [c.text async for c in self._astream(messages, stop, run_manager)]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="".join(parts)))])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return asyncio.run(self._agenerate(messages, stop))


async def chat_text(
    backend: ModelBackend,
    messages: list[BaseMessage],
    *,
    lane: str,
    max_tokens: int,
    temperature: float,
    deadline_s: float | None,
    stats: GenerationStats | None = None,
    stop: list[str] | None = None,
) -> AsyncIterator[str]:
    """The text of a chat reply through LangChain, piece by piece."""
    model = LocalChatModel(
        engine=backend,
        lane=lane,
        max_tokens=max_tokens,
        temperature=temperature,
        deadline_s=deadline_s,
        stats=stats,
    )
    async for chunk in model.astream(messages, stop=stop):
        if chunk.text:
            yield chunk.text
