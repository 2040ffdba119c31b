"""A Script, or a table, as Markdown for the room's shared document (a wiki, Notion, Docs).

Markdown has no screenplay forms, so the script is written as a reader expects it: the
title as the top heading, sections as headings under it, synopses as list items, scene
headings as headings, cues in bold, parentheticals in italics. Every character Markdown
would read as markup is escaped: a writer's '*', '#' or '<…>' stays text, and no link or
HTML can come out of what the model wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from agents.screenplay.model import Kind, Para, Script, blocks

_MARKUP = re.compile(r"([\\`*_\[\]<>|#~!])")
_LIST_START = re.compile(r"^(\s*)(\d*)([-+.)])(\s)")
BREAK = "  \n"  # a line break inside a paragraph


def escape(text: str) -> str:
    """One line as literal text: markup characters escaped, a line that would start a list
    kept a paragraph."""
    line = _MARKUP.sub(r"\\\1", " ".join(text.split()))
    return _LIST_START.sub(r"\1\2\\\3\4", line)


def _lines(text: str) -> list[str]:
    return [escape(line) for line in text.splitlines() if line.strip()]


def _speech(cue: Para, parts: Sequence[Para]) -> str:
    out = [f"**{escape(cue.text.rstrip('^ '))}**"]
    for part in parts:
        if part.kind is Kind.PARENTHETICAL:
            out.append(f"*({escape(part.text.strip('()'))})*")
        elif part.kind is Kind.LYRIC:
            out += [f"*{line}*" for line in _lines(part.text)]
        else:
            out += _lines(part.text)
    return BREAK.join(out)


def _blocks(paras: Sequence[Para], base: int) -> Iterator[tuple[Kind, str]]:
    for p, parts in blocks(paras):
        if p.kind is Kind.CHARACTER:
            yield p.kind, _speech(p, parts)
        elif p.kind is Kind.SECTION:
            yield p.kind, f"{'#' * min(6, base + max(1, p.level))} {escape(p.text)}"
        elif p.kind is Kind.SYNOPSIS:
            yield p.kind, f"- {escape(p.text)}"
        elif p.kind is Kind.HEADING:
            number = f"{escape(p.number)}. " if p.number else ""
            yield p.kind, f"{'#' * min(6, base + 1)} {number}{escape(p.text)}"
        elif p.kind is Kind.PAGE_BREAK:
            yield p.kind, "---"
        elif p.kind is Kind.TRANSITION:
            yield p.kind, f"**{escape(p.text)}**"
        elif p.kind is Kind.LYRIC:
            yield p.kind, BREAK.join(f"*{line}*" for line in _lines(p.text))
        elif p.kind is Kind.PARENTHETICAL:
            yield p.kind, f"*({escape(p.text.strip('()'))})*"
        elif lines := _lines(p.text):
            yield p.kind, BREAK.join(lines)


def write_markdown(script: Script) -> str:
    """The title as '#', the title page's other fields under it, then the paragraphs;
    synopses that follow one another are one list."""
    head: list[str] = []
    title = script.title or next(
        (v for k, v in script.title_page.items() if k.lower() == "title"), ""
    )
    if title.strip():
        head.append(f"# {escape(title)}")
    fields = [
        f"{escape(k)}: {escape(v)}" for k, v in script.title_page.items() if k.lower() != "title"
    ]
    if fields:
        head.append(BREAK.join(fields))
    out = "\n\n".join(head)
    last: Kind | None = None
    for kind, block in _blocks(script.paras, 1 if head else 0):
        joiner = "\n" if kind is Kind.SYNOPSIS and last is Kind.SYNOPSIS else "\n\n"
        out = f"{out}{joiner}{block}" if out else block
        last = kind
    return out + "\n"


def markdown_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A titled table; each cell one line, its markup escaped (pipes included)."""
    lines = [
        f"# {escape(title)}",
        "",
        "| " + " | ".join(escape(c) for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += ["| " + " | ".join(escape(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
