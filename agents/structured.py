"""Structured generation: JSON-schema grammar -> fast constrained decoding -> validation.

What fails to parse or validate is retried with a new seed, then reported; a half-parsed
result is never shown.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agents.backend import ModelBackend
from agents.engine import Generation, GenerationStats
from agents.errors import StructuredOutputError

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)


@lru_cache(maxsize=64)
def grammar_for(schema_json: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return json_schema_to_gbnf(schema_json)


def token_allowance(fields: int, max_chars: int, overhead: int = 40) -> int:
    """An upper bound on tokens for ``fields`` strings of at most ``max_chars`` characters.

    Every token the grammar admits inside a string adds at least one character, so a bound
    by characters is a true bound: a valid answer is never cut off by ``max_tokens``.
    """
    return fields * (max_chars + 12) + overhead


class StructuredGenerator:
    def __init__(
        self,
        engine: ModelBackend,
        *,
        attempts: int = 3,
        seed: int = 1234,
        deadline_s: float | None = None,
    ) -> None:
        self._deadline_s = deadline_s
        self._engine = engine
        self._attempts = attempts
        self._seed = seed
        self.last_stats: GenerationStats | None = None  # diagnostics for bench/ and logs
        self.last_prompt = ""

    async def generate(
        self,
        *,
        what: str,
        messages: list[dict[str, str]],
        schema: dict[str, Any],
        build: Callable[[dict[str, Any]], T],
        lane: str,
        max_tokens: int,
        temperature: float,
    ) -> T:
        grammar = grammar_for(json.dumps(schema))  # key order is the order the model writes
        prompt = self._engine.format_chat(messages)
        self.last_prompt = prompt
        reason = ""
        for attempt in range(self._attempts):
            completion = await self._engine.complete(
                Generation(
                    prompt=prompt,
                    lane=lane,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    grammar=grammar,
                    seed=self._seed + attempt,
                    repeat_penalty=1.15,
                    deadline_s=self._deadline_s,
                )
            )
            self.last_stats = completion.stats
            try:
                return build(json.loads(completion.text))
            except json.JSONDecodeError:
                reason = "the answer was cut off before it was complete"
            except (ValidationError, ValueError) as exc:
                reason = _short_reason(exc)
            log.info(
                "%s attempt %d invalid: %s; output: %.400s",
                what,
                attempt + 1,
                reason,
                completion.text,
            )
        raise StructuredOutputError(
            f"The model could not produce a valid {what} after {self._attempts} tries "
            f"({reason}). Nothing was saved. Try rephrasing, or ask again."
        )


def _short_reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
    return str(exc)
