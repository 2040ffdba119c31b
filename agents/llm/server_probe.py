"""The start-up check that a model server follows JSON schemas.

Beats, loglines, character cards and continuity verdicts are JSON under a schema, which the
server must enforce while decoding (``response_format`` with ``json_schema``). A server that
does not would fail each of those on a writer's first try, three times over; it is better
named at start-up, once, to whoever runs the bot.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from agents.errors import ModelUnavailable
from agents.llm.server_info import not_answering, refusal_message

PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}


def response_format(dialect: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI ``json_schema`` form (llama-server, vLLM), or the older ``json_object``
    with a ``schema`` beside it, which is all llama-cpp-python's own server reads."""
    if dialect == "json_object":
        return {"type": "json_object", "schema": schema}
    return {
        "type": "json_schema",
        "json_schema": {"name": "result", "schema": schema, "strict": True},
    }


def check_json_schema(backend: Any) -> str:
    """The dialect in which the server follows a JSON schema ('json_schema' or
    'json_object'); raises ModelUnavailable when it follows neither."""
    host = backend.host
    url = f"{backend.base_url}/chat/completions"
    why = ""
    for dialect in ("json_schema", "json_object"):
        body = {
            "model": backend.model,
            "messages": [{"role": "user", "content": "Is water wet? Answer in JSON."}],
            "max_tokens": 24,
            "temperature": 0,
            "response_format": response_format(dialect, PROBE_SCHEMA),
        }
        try:
            # A writer's deadline: a cold server's first request may warm the model, and
            # llama-cpp-python's server decodes under a schema slowly (77 s for 9 tokens of
            # the bundled model here: its grammar runs over the whole vocabulary).
            response = backend._http.post(url, json=body, timeout=backend.deadline_s)
        except httpx.HTTPError as exc:
            raise ModelUnavailable(not_answering(host, type(exc).__name__)) from None
        if response.status_code in (401, 403, 404):
            raise ModelUnavailable(refusal_message(host, response.status_code))
        if response.status_code != 200:
            # llama-cpp-python's server answers 500 to a form it does not read
            why = why or f"it refused the request: HTTP {response.status_code}"
            continue
        if _follows(response):
            return dialect
        why = "its answer did not follow the schema"
    raise ModelUnavailable(unsupported(host, why))


def _follows(response: httpx.Response) -> bool:
    try:
        answer = json.loads(response.json()["choices"][0]["message"]["content"])
    except (ValueError, KeyError, IndexError, TypeError):
        return False
    return isinstance(answer, dict) and isinstance(answer.get("ok"), bool) and len(answer) == 1


def unsupported(host: str, why: str) -> str:
    return (
        f"The model server at {host} does not support JSON-schema output ({why}). Beats, "
        "loglines, character cards and continuity checks need it. Serve the model with "
        "llama.cpp's llama-server or vLLM (both enforce response_format json_schema), or "
        "unset WR_LLM_BASE_URL to run the model in process."
    )
