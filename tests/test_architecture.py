"""The layers keep to their arrows (ARCHITECTURE.md): what must be absent from each.

Adapters translate and render; only the composition root wires storage in; only the
model-backend package touches llama.cpp; every command's prompt file exists."""

from __future__ import annotations

import ast
from pathlib import Path

from agents.commands import commands
from agents.llm.base import ModelBackend
from agents.llm.llama import LlamaEngine
from agents.llm.scripted import ScriptedBackend
from tests.conftest import REPO


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def sources(*folders: str) -> list[Path]:
    return [p for f in folders for p in sorted((REPO / f).rglob("*.py"))]


def test_only_the_composition_root_in_bot_imports_memory() -> None:
    offenders = {
        p.name: sorted(m for m in imports(p) if m.split(".")[0] == "memory")
        for p in sources("bot")
        if p.name != "compose.py"
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_llama_cpp_is_imported_only_under_agents_llm() -> None:
    outside = [
        p.relative_to(REPO).as_posix()
        for p in sources("agents", "bot", "memory", "bench", "tests")
        if any(m.split(".")[0] == "llama_cpp" for m in imports(p))
        and "agents/llm/" not in p.as_posix()
    ]
    assert outside == []


def test_the_core_never_imports_an_adapter() -> None:
    assert [
        p.name for p in sources("agents", "memory") if any(m.startswith("bot") for m in imports(p))
    ] == []


def test_both_backends_implement_the_seam() -> None:
    members = ("n_ctx", "is_instruct", "count_tokens", "stream", "produce")
    assert all(hasattr(LlamaEngine, m) for m in members)
    assert isinstance(ScriptedBackend("x"), ModelBackend)


def test_every_command_declares_what_it_needs() -> None:
    for spec in commands():
        assert spec.summary and spec.examples, spec.name
        assert all(p.description for p in spec.params), spec.name
        if spec.prompt is not None:
            assert (REPO / "prompts" / f"{spec.prompt}.txt").is_file(), spec.prompt
