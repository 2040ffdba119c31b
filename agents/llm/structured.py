"""Structured results, whatever backend writes them: parse, validate, retry, then report.

A half-parsed result is never shown: what fails to parse or validate is retried (each
backend decides how a retry differs, a new seed for llama.cpp), then reported in words.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agents.errors import StructuredOutputError
from agents.llm.base import Completion

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)


def token_allowance(fields: int, max_chars: int, overhead: int = 40) -> int:
    """An upper bound on tokens for ``fields`` strings of at most ``max_chars`` characters.

    Every token the grammar admits inside a string adds at least one character, so a bound
    by characters is a true bound: a valid answer is never cut off by ``max_tokens``.
    """
    return fields * (max_chars + 12) + overhead


async def validated(
    what: str,
    attempts: int,
    attempt: Callable[[int], Awaitable[Completion]],
    build: Callable[[dict[str, Any]], T],
) -> T:
    """Call ``attempt(n)`` until its JSON builds a valid result, at most ``attempts`` times."""
    reason = ""
    for n in range(attempts):
        completion = await attempt(n)
        try:
            return build(json.loads(completion.text))
        except json.JSONDecodeError:
            reason = "the answer was cut off before it was complete"
        except (ValidationError, ValueError) as exc:
            reason = _short_reason(exc)
        log.info("%s attempt %d invalid: %s; output: %.400s", what, n + 1, reason, completion.text)
    raise StructuredOutputError(
        f"The model could not produce a valid {what} after {attempts} tries "
        f"({reason}). Nothing was saved. Try rephrasing, or ask again."
    )


def _short_reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
    return str(exc)
