"""A Script as Fountain text, the plain-text form every screenwriting app opens.

Every paragraph is written so that a reader takes it for what it is: a heading that would
not read as one is forced with '.', an action line that would read as a heading, cue or
transition with '!', a cue that is not all capitals with '@', a transition that does not
end in 'TO:' with '>'. Text never opens a note ('[[') or a boneyard ('/*'), which would hide
the rest of the script, and a literal '*' or '_' is escaped so it is not read as emphasis.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from agents.fountain import inert, leading_aside, parse_heading, reads_as_markup
from agents.screenplay.model import Kind, Para, Script, blocks, split_cue, title_fields

_TITLE_KEY = re.compile(r"^[^:]+:")  # what makes a first line read as a title page


def _text(line: str) -> str:
    """One line, inert, with literal '*' and '_' escaped (Fountain's emphasis and underline
    marks: 'file_name_v2' would lose its underscores)."""
    return inert(line).replace("*", "\\*").replace("_", "\\_")


def _lines(text: str) -> list[str]:
    return [_text(line) for line in text.splitlines() if line.strip()]


def _blocks(text: str) -> list[list[str]]:
    """A paragraph's text cut where it has blank lines: in Fountain those end a paragraph."""
    return [lines for block in re.split(r"\n\s*\n", text) if (lines := _lines(block))]


def heading(para: Para) -> str:
    line = _text(para.text)
    line = line if parse_heading(line) else f".{line.lstrip('.')}"
    return f"{line} #{para.number}#" if para.number else line


def action(para: Para) -> list[str]:
    """Action paragraphs; a first line that would read as something else is forced."""
    out: list[str] = []
    for lines in _blocks(para.text):
        if para.centered:
            out.append("\n".join(f"> {line} <" for line in lines))
            continue
        first = lines[0]
        many = len(lines) > 1 and first.split("(")[0].isupper()  # a cue and its line
        lines[0] = f"!{first}" if reads_as_markup(first) or many else first
        out.append("\n".join(lines))
    return out


def cue(para: Para) -> str:
    line = _text(para.text).rstrip("^ ")
    name, _ = split_cue(line)
    plain = name.isupper() and not parse_heading(line) and not line.startswith(("!", "@", "~"))
    forced = line if plain and not line.endswith("TO:") else f"@{line}"
    return f"{forced} ^" if para.dual else forced


def transition(para: Para) -> str:
    line = _text(para.text)
    return line if line.isupper() and line.endswith("TO:") else f"> {line}"


def speech(cue_para: Para, parts: Sequence[Para]) -> str:
    """A cue and what it says, with no blank line between (a blank line ends the speech)."""
    out = [cue(cue_para)]
    for part in parts:
        if part.kind is Kind.PARENTHETICAL:
            out.append(f"({_text(part.text).strip('()').strip()})")
        elif part.kind is Kind.LYRIC:
            out += [f"~{line}" for line in _lines(part.text)]
        else:
            for line in _lines(part.text):
                aside, said = leading_aside(line)
                if aside:  # '(beat) I know.' would be read as a parenthetical
                    out.append(f"({aside})")
                said = said.lstrip("~ ")  # '~' would make the line a lyric
                if said:
                    out.append(said)
    return "\n".join(out)


def _paragraphs(paras: Sequence[Para]) -> Iterator[str]:
    for p, parts in blocks(paras):
        if p.kind is Kind.CHARACTER:
            yield speech(p, parts)
        elif p.kind is Kind.HEADING:
            yield heading(p)
        elif p.kind is Kind.TRANSITION:
            yield transition(p)
        elif p.kind is Kind.SECTION:
            yield f"{'#' * max(1, p.level)} {_text(p.text)}"
        elif p.kind is Kind.SYNOPSIS:
            yield f"= {_text(p.text)}"
        elif p.kind is Kind.PAGE_BREAK:
            yield "==="
        elif p.kind is Kind.LYRIC:  # sung outside a speech
            yield "\n".join(f"~{line}" for line in _lines(p.text))
        elif p.kind is Kind.PARENTHETICAL and p.text.strip():  # no cue before it
            yield from action(Para(Kind.ACTION, f"({p.text.strip('()')})"))
        elif p.text.strip():  # action, and a line of dialogue with no cue before it
            yield from action(Para(Kind.ACTION, p.text, centered=p.centered))


def title_page(script: Script) -> list[str]:
    """'Key: value' lines; a value of several lines goes indented under its key."""
    fields = title_fields(script)
    out: list[str] = []
    for key, value in fields.items():
        lines = _lines(value)
        name = inert(key).replace(":", "")
        if len(lines) == 1:
            out.append(f"{name}: {lines[0]}")
        elif lines:
            out += [f"{name}:", *(f"   {line}" for line in lines)]
    return out


def write_fountain(script: Script) -> str:
    """The whole script: title page, then one paragraph after another, a blank line
    between them."""
    body = [p for p in _paragraphs(script.paras) if p]
    head = title_page(script)
    if head:
        return "\n".join(head) + "\n\n" + "\n\n".join(body) + "\n"
    # Without a title page, a first line like 'Maren: go' would be read as one.
    lead = "\n" if body and _TITLE_KEY.match(body[0]) else ""
    return lead + "\n\n".join(body) + "\n"
