"""A Script as a Final Draft file (.fdx): the XML Final Draft, Fade In, WriterSolo, Highland
and Arc Studio exchange.

Each paragraph is a ``<Paragraph Type="…">`` with its text in ``<Text>``, under
``<FinalDraft><Content>``; the title page is a ``<TitlePage>`` of its own. Paragraph types
are Final Draft's names: Scene Heading (a fixed scene number in ``Number``), Action (centred
with ``Alignment="Center"``), Character, Parenthetical (brackets in the text, as Final Draft
keeps them), Dialogue, Lyrics and Transition. Two speeches side by side are one paragraph
holding ``<DualDialogue>``; a page break is ``StartsNewPage="Yes"`` on the paragraph after it.

Sections and synopses are Final Draft's outline elements ('Outline 1' to 'Outline 3' by
depth, and 'Summary'), which its Outline Editor and Navigator show and the printed page
leaves out, so a beat sheet opens in Final Draft as an outline and a script's own outline
marks stay off its pages.

Writing XML needs no defusing (that is for reading); the stdlib writer escapes the text,
and characters XML cannot hold at all (control characters) are dropped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

from agents.screenplay.model import Kind, Para, Script, blocks, title_fields

DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n'
OUTLINE_LEVELS = 3  # Final Draft's outline elements: Outline 1, Outline 2, Outline 3
CENTRED_TITLE_KEYS = ("title", "credit", "author", "authors", "source")

_TYPES = {
    Kind.HEADING: "Scene Heading",
    Kind.ACTION: "Action",
    Kind.CHARACTER: "Character",
    Kind.PARENTHETICAL: "Parenthetical",
    Kind.DIALOGUE: "Dialogue",
    Kind.LYRIC: "Lyrics",
    Kind.TRANSITION: "Transition",
    Kind.SYNOPSIS: "Summary",
}
# What XML 1.0 cannot carry at all, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text).strip()


def paragraph_type(para: Para) -> str:
    if para.kind is Kind.SECTION:
        return f"Outline {min(max(para.level, 1), OUTLINE_LEVELS)}"
    return _TYPES[para.kind]


def _paragraph(type_: str, text: str, attrs: dict[str, str] | None = None) -> ET.Element:
    el = ET.Element("Paragraph", {**(attrs or {}), "Type": type_})
    ET.SubElement(el, "Text").text = _clean(text)
    return el


def _element(para: Para) -> ET.Element:
    attrs: dict[str, str] = {}
    text = para.text
    if para.kind is Kind.HEADING and para.number.strip():
        attrs["Number"] = _clean(para.number)
    if para.centered:
        attrs["Alignment"] = "Center"
    if para.kind is Kind.PARENTHETICAL:
        text = f"({_clean(text).strip('()').strip()})"
    if para.kind is Kind.CHARACTER:
        text = _clean(text).rstrip("^ ")  # Fountain's dual mark is not part of the name
    return _paragraph(paragraph_type(para), text, attrs)


@dataclass
class _Block:
    """One top-level paragraph to write: a single paragraph, or a speech (its cue and the
    parts under it), which may stand beside the speech before it."""

    paras: list[Para] = field(default_factory=list)
    speech: bool = False
    dual: bool = False
    new_page: bool = False


def _blocks(paras: Sequence[Para]) -> list[_Block]:
    found: list[_Block] = []
    new_page = False
    for p, parts in blocks(paras):
        if p.kind is Kind.PAGE_BREAK:
            new_page = bool(found) or new_page  # a break before anything starts no page
            continue
        block = _Block([p, *parts], new_page=new_page)
        new_page = False
        if p.kind is Kind.CHARACTER:
            block.speech, block.dual = True, p.dual
        found.append(block)
    return found


def content(paras: Sequence[Para]) -> ET.Element:
    """``<Content>``: the paragraphs in order, dual speeches paired."""
    out = ET.Element("Content")
    blocks = _blocks(paras)
    i = 0
    while i < len(blocks):
        block = blocks[i]
        pair = (
            block.speech
            and i + 1 < len(blocks)
            and blocks[i + 1].speech
            and blocks[i + 1].dual
            and not blocks[i + 1].new_page
        )
        if pair:
            outer = ET.SubElement(out, "Paragraph")
            dual = ET.SubElement(outer, "DualDialogue")
            for p in [*block.paras, *blocks[i + 1].paras]:
                dual.append(_element(p))
            first = outer
            i += 2
        else:
            for p in block.paras:
                out.append(_element(p))
            first = out[len(out) - len(block.paras)]
            i += 1
        if block.new_page:
            first.set("StartsNewPage", "Yes")
    return out


def title_page(script: Script) -> ET.Element | None:
    """``<TitlePage>``: title, credit, author and source centred, the rest (draft date,
    contact) at the left, one paragraph a line."""
    fields = title_fields(script)
    lines = [
        (key.lower() in CENTRED_TITLE_KEYS, line)
        for key, value in fields.items()
        for line in value.splitlines()
        if line.strip()
    ]
    if not lines:
        return None
    page = ET.Element("TitlePage")
    body = ET.SubElement(page, "Content")
    for centred, line in lines:
        body.append(_paragraph("Text", line, {"Alignment": "Center" if centred else "Left"}))
    return page


def write_fdx(script: Script) -> bytes:
    """The script as an .fdx file: UTF-8, with its XML declaration."""
    root = ET.Element("FinalDraft", {"DocumentType": "Script", "Template": "No", "Version": "5"})
    root.append(content(script.paras))
    page = title_page(script)
    if page is not None:
        root.append(page)
    ET.indent(root, "  ")
    return (DECLARATION + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")
