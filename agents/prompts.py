"""Prompt files from prompts/, rendered with a strict check of their variables.

A template that names a variable the caller did not pass, or a caller that passes one the
template does not use, is a bug; both fail loudly rather than sending a broken prompt.
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources
from pathlib import Path


class PromptError(KeyError):
    pass


@cache
def _read(directory: str | None, name: str) -> str:
    if directory is None:
        return resources.files("prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8")
    return (Path(directory) / f"{name}.txt").read_text(encoding="utf-8")


def variables(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


class Prompts:
    def __init__(self, directory: Path | None = None) -> None:
        self._dir = str(directory) if directory else None

    def render(self, prompt: str, /, **values: object) -> str:
        template = _read(self._dir, prompt)
        wanted = variables(template)
        missing = wanted - values.keys()
        extra = values.keys() - wanted
        if missing or extra:
            raise PromptError(
                f"prompt '{prompt}': missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        return template.format(**values)
