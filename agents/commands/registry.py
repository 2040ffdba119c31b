"""The command table: every command module registers here, and every adapter reads it.

Text adapters (terminal, message text) parse ``/name args`` with ``parse_command``; adapters
with typed options (Slack, Discord) pass a dict to ``validate_args``. Both end in the same
checked argument dict. Each takes ``attached``, the text of a file sent with the command
(see agents.inbound): it fills the command's free text where that is empty.
"""

from __future__ import annotations

import re
from typing import Any

from agents.commands.spec import CommandSpec, Param
from agents.errors import BadRequest
from agents.inbound import text_param, with_attached

_REGISTRY: dict[str, CommandSpec] = {}


def register(spec: CommandSpec) -> CommandSpec:
    if spec.name in _REGISTRY and _REGISTRY[spec.name] is not spec:
        raise ValueError(f"command {spec.name} is registered twice")
    if (spec.handler is None) == (spec.stream is None):
        raise ValueError(f"command {spec.name} needs exactly one of handler and stream")
    if spec.stream is not None and (spec.records or spec.private):
        raise ValueError(f"command {spec.name} streams, so it cannot be records or private")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def commands() -> tuple[CommandSpec, ...]:
    """Every command, in the order they were registered (the order help lists them)."""
    return tuple(_REGISTRY.values())


def get_command(name: str) -> CommandSpec:
    spec = _REGISTRY.get(name.lower())
    if spec is None:
        known = ", ".join(_REGISTRY)
        raise BadRequest(f"There is no command '{name}'. The commands are: {known}. Try: help")
    return spec


def _takes(param: Param, word: str) -> bool:
    word = word.lower()
    if param.kind == "int":
        return word.lstrip("#").isdigit()
    if param.kind == "bool":
        return word in (param.name, "yes", "true")
    return bool(param.choices) and word in param.choices


def parse_command(text: str, attached: str | None = None) -> tuple[CommandSpec, dict[str, Any]]:
    """Parse '/logline a premise 3' style text into a command and checked arguments."""
    body = text.strip().lstrip("/")
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", body)]
    words = [body[a:b] for a, b in spans]
    if not words:
        raise BadRequest("That command is empty. Try: help")
    spec = get_command(words[0])
    rest = words[1:]
    first = 1  # the index in ``words`` of rest[0], so free text keeps its own line breaks
    values: dict[str, Any] = {}
    leading = [p for p in spec.params if p.choices and not p.rest and p.required]
    for param in leading:  # e.g. 'bible search ...'
        if rest and rest[0].lower() in param.choices:
            values[param.name] = rest.pop(0).lower()
            first += 1
    trailing = [p for p in spec.params if not p.required and not p.rest]
    for param in reversed(trailing):  # e.g. '... 3' or '... tv-four-act'
        if rest and _takes(param, rest[-1]):
            values[param.name] = rest.pop()
    free = [p for p in spec.params if p.rest]
    if free and rest:  # a pasted scene keeps its lines: the text as typed, not the words
        values[free[0].name] = body[spans[first][0] : spans[first + len(rest) - 1][1]]
    return spec, validate_args(spec, values, attached)


def _value(spec: CommandSpec, param: Param, raw: Any) -> Any:
    if param.kind == "bool":
        return raw is True or str(raw).lower() in (param.name, "yes", "true")
    if param.kind == "int":
        try:
            value = int(str(raw).strip().lstrip("#"))
        except (TypeError, ValueError):
            raise BadRequest(f"{param.name} must be a whole number. Usage: {spec.usage}") from None
        low, high = param.least, param.most
        if low is not None and high is not None and not low <= value <= high:
            raise BadRequest(f"{param.name} must be between {low} and {high}.")
        if low is not None and value < low:
            raise BadRequest(f"{param.name} must be at least {low}.")
        if high is not None and value > high:
            raise BadRequest(f"{param.name} must be at most {high}.")
        return value
    text = str(raw).strip()
    if param.choices:
        if text.lower() not in param.choices:
            raise BadRequest(
                f"{param.name} must be one of: {', '.join(param.choices)}. Usage: {spec.usage}"
            )
        return text.lower()
    return text


def validate_args(
    spec: CommandSpec, values: dict[str, Any], attached: str | None = None
) -> dict[str, Any]:
    values = with_attached(spec, values, attached)
    unknown = set(values) - {p.name for p in spec.params}
    if unknown:
        raise BadRequest(
            f"'{spec.name}' takes no {', '.join(sorted(unknown))}. Usage: {spec.usage}"
        )
    out: dict[str, Any] = {}
    for param in spec.params:
        raw = values.get(param.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()) or raw is False:
            if param.required:
                raise BadRequest(
                    f"'{spec.name}' needs {param.name.upper()}: {param.description} "
                    f"Usage: {spec.usage}"
                )
            out[param.name] = param.default
            continue
        out[param.name] = _value(spec, param, raw)
    return out


def addressed_command(
    text: str, attached: str | None = None
) -> tuple[CommandSpec, dict[str, Any]] | None:
    """'wrap', 'vote 2', 'canon add 2' said to the bot: the command, else None (a question).

    A command counts only when its required leading choice is there ('canon add', not
    "canon says Toby died?"), and a numbered argument only when a number follows ('riff 2',
    not "riff on Quill's angle"): otherwise it is a question in the writer's words. With a
    file attached, the command's name is enough ('@bot synopsis' with a script).
    """
    words = text.strip().lstrip("/").split()
    spec = _REGISTRY.get(words[0].lower()) if words else None
    if spec is None:
        return None
    if attached is not None and text_param(spec) is not None:
        return parse_command(text, attached)  # '@bot doctor' with a scene attached
    if not spec.addressable:
        return None
    rest = words[1:]
    if attached is None and spec.addressed_if is not None and not spec.addressed_if(" ".join(rest)):
        return None
    for param in spec.params:
        if param.choices and param.required and not param.rest:
            if not rest or rest[0].lower() not in param.choices:
                return None
            rest = rest[1:]
        elif (
            param.rest
            and param.kind == "int"
            and not param.required
            and rest
            and not rest[0].lstrip("#").isdigit()
        ):
            return None
    return parse_command(text, attached)


def help_text(name: str | None = None, prefix: str = "") -> str:
    if name:
        spec = get_command(name.split()[0])
        lines = [f"{prefix}{spec.usage}", spec.summary]
        lines += [f"  {p.name}: {p.description}" for p in spec.params]
        lines += [f"  example: {prefix}{e}" for e in spec.examples]
        return "\n".join(lines)
    lines = ["Commands:"] + [f"  {prefix}{c.usage:<40} {c.summary}" for c in _REGISTRY.values()]
    lines.append("Or just ask a question about the show; answers cite the bible.")
    return "\n".join(lines)
