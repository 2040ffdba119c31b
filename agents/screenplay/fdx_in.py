"""Final Draft (.fdx) -> ``Script``, read with defusedxml.

An FDX file is XML from outside the machine: defusedxml refuses entity declarations (the
"billion laughs" bomb), external entities and DTDs before anything is expanded or fetched.
Ours, not a library's: the FDX readers we evaluated parse with the standard library's
unprotected XML, read only a paragraph's first text run (Final Draft splits a paragraph
into runs wherever the style changes) and drop dual dialogue.

What is read: the ``Content`` paragraphs, their text runs joined, dual dialogue
(``<DualDialogue>`` holds both speeches; the second cue is marked ``dual``), scene numbers,
centred paragraphs, page breaks (``StartsNewPage``), and the title page's text. Script notes
are the writers' asides and are skipped, like Fountain's ``[[notes]]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from agents.screenplay.model import Kind, Para, Script

ROOT = "FinalDraft"
# Final Draft's paragraph types, as the neutral kinds; any other (General, Shot, Cast
# List, a custom element) is action, so no words are lost.
TYPES = {
    "Scene Heading": Kind.HEADING,
    "Action": Kind.ACTION,
    "Character": Kind.CHARACTER,
    "Dialogue": Kind.DIALOGUE,
    "Parenthetical": Kind.PARENTHETICAL,
    "Transition": Kind.TRANSITION,
    "Lyrics": Kind.LYRIC,
    "Lyric": Kind.LYRIC,
    "New Act": Kind.SECTION,
    "End of Act": Kind.SECTION,
    "Outline 1": Kind.SECTION,
    "Outline 2": Kind.SECTION,
    "Outline 3": Kind.SECTION,
    "Outline 4": Kind.SECTION,
    "Outline Body": Kind.SYNOPSIS,
    "Summary": Kind.SYNOPSIS,
}


class FdxError(ValueError):
    """Why the bytes are not a Final Draft script we can read, in a writer's words."""


def _text(paragraph: Element) -> str:
    """All of a paragraph's own text runs, joined (a style change starts a new run)."""
    runs = ("".join(t.itertext()) for t in paragraph.findall("Text"))
    return re.sub(r"[ \t]+\n", "\n", "".join(runs)).strip()


def _level(kind_name: str) -> int:
    found = re.search(r"(\d)$", kind_name)
    return int(found.group(1)) if found else 1


def _para(p: Element, dual: bool) -> Para | None:
    kind_name = p.get("Type", "Action")
    kind = TYPES.get(kind_name, Kind.ACTION)
    text = _text(p)
    if kind is Kind.PARENTHETICAL:
        text = text.strip().removeprefix("(").removesuffix(")").strip()
    if not text:
        return None
    return Para(
        kind,
        text,
        dual=dual and kind is Kind.CHARACTER,
        centered=kind is Kind.ACTION and p.get("Alignment", "").lower() == "center",
        number=(p.get("Number") or "").strip() if kind is Kind.HEADING else "",
        level=_level(kind_name) if kind is Kind.SECTION else 0,
    )


def _paras(content: Element) -> Iterator[Para]:
    for p in content.findall("Paragraph"):
        if (p.get("StartsNewPage") or "").lower() == "yes":
            yield Para(Kind.PAGE_BREAK)
        pair = p.find("DualDialogue")
        if pair is not None:
            cues = 0
            for inner in pair.findall("Paragraph"):
                cues += inner.get("Type") == "Character"
                made = _para(inner, dual=cues == 2)
                if made is not None:
                    yield made
            continue
        made = _para(p, dual=False)
        if made is not None:
            yield made


def _title_page(root: Element) -> dict[str, str]:
    """The title page's lines; FDX has no keys, so the first line is the title and the
    rest are kept in order."""
    lines = [
        text
        for p in root.findall("./TitlePage/Content/Paragraph")
        if (text := " ".join(_text(p).split()))
    ]
    page = {"Title": lines[0]} if lines else {}
    page.update({f"Line {i}": line for i, line in enumerate(lines[1:], start=2)})
    return page


def parse_xml(data: bytes | str) -> Any:
    """The document's root, or FdxError for XML that is malformed or unsafe."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise FdxError(
            "it declares XML entities or a document type, which Final Draft never writes "
            f"and which can be used to attack the reader ({type(exc).__name__}); nothing "
            "in it was read"
        ) from exc
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise FdxError(
            f"it is not well-formed XML (line {line}, column {column + 1}): re-save it "
            "from Final Draft, or export the script as Fountain"
        ) from exc


def read_fdx(data: bytes | str) -> Script:
    root = parse_xml(data)
    if root.tag != ROOT:
        raise FdxError(f"it is XML, but not a Final Draft script (its root is <{root.tag}>)")
    content = root.find("Content")
    paras = tuple(_paras(content)) if content is not None else ()
    page = _title_page(root)
    return Script(title=page.get("Title", ""), title_page=page, paras=paras)
