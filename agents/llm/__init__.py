"""The model-backend seam: the Protocol, its requests, and the backends that implement it.

Nothing outside this package imports ``llama_cpp``.
"""

from agents.llm.base import (
    ChatMessage,
    Completion,
    GenerationStats,
    ModelBackend,
    StructuredRequest,
    TextRequest,
)
from agents.llm.structured import token_allowance

__all__ = [
    "ChatMessage",
    "Completion",
    "GenerationStats",
    "ModelBackend",
    "StructuredRequest",
    "TextRequest",
    "token_allowance",
]
