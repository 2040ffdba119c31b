"""`translate LANGUAGE [TEXT]`: a scene or dialogue in another language, in screenplay form,
with the bible's names as the bible spells them.

Code keeps the form: the Fountain text is read line by line into headings, cues,
parentheticals, dialogue, action and transitions; only dialogue, parentheticals and action
go to the model, and everything else stays as written. Code keeps the names: each name or
alias of a bible entry that the text uses (as written, or in capitals) is replaced by a
token (⟦1⟧) before the model sees it, the grammar makes each translated line carry its
tokens in order, and code puts the text's own spelling back. A line that comes back without
its tokens, or cut short by the grammar (a stretch as long as it allows), is retried, then
the translation is refused, so no name and no grammar-cut half line goes missing. (A check
that a finished sentence stays finished was tried and dropped: the bundled base model never
passes it, so every translation on it would be refused.) Long scenes go section by section,
and each finished section is reported as progress.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, Field

from agents import render
from agents.commands.registry import register
from agents.commands.scene import last_scene_text
from agents.commands.spec import Call, CommandSpec, Param
from agents.desk import check_fits, file_slug
from agents.errors import BadRequest
from agents.fountain import parse_heading
from agents.llm.base import StructuredRequest
from agents.messages import Attachment, Delta, Final, Reply, Update, Working

# code -> (name in help, what a writer may type for it)
LANGUAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "en": ("English", ("en", "english", "eng")),
    "zh-Hans": (
        "Simplified Chinese",
        (
            "zh",
            "zh-hans",
            "zh-cn",
            "chinese",
            "simplified-chinese",
            "simplified chinese",
            "mandarin",
            "中文",
            "简体中文",
        ),
    ),
    "es": ("Spanish", ("es", "spanish", "español", "espanol")),
    "fr": ("French", ("fr", "french", "français", "francais")),
    "de": ("German", ("de", "german", "deutsch")),
    "ja": ("Japanese", ("ja", "jp", "japanese", "日本語")),
}
_BY_WORD = {word: code for code, (_, words) in LANGUAGES.items() for word in words}
SUPPORTED = ", ".join(f"{name} ({code})" for code, (name, _) in LANGUAGES.items())

MAX_UNITS = 8  # lines the model translates in one section
MARGIN = 64  # tokens of the window left free
_FREE = '[^"\\\\\\n⟦⟧]'  # a character a translated line may hold between its tokens
_CUE_LIKE = re.compile(r"^[^a-z]*[A-Z][^a-z]*$")
_TRANSITION = re.compile(r"^[A-Z .']+TO:$")
_TOKEN = re.compile(r"⟦\d+⟧")
_LETTER = re.compile(r"[^\W\d_]")
NOT_NAMES = frozenset({"episode", "arc"})  # titles: the translation translates them

Kind = Literal["heading", "cue", "parenthetical", "dialogue", "action", "kept", "blank"]


class GlossaryTerm(BaseModel):
    term: str  # as the text writes it, and as it comes back
    entry: str  # the bible entry it names
    type: str


class Translation(BaseModel):
    language: str
    code: str
    source: str  # what was translated, in the writer's words
    original: str
    fountain: str
    sections: int = Field(ge=1)
    glossary: list[GlossaryTerm] = Field(default_factory=list)
    cut_lines: int = 0  # lines the model ran past their length on, marked in the text


# ---- the form: which lines are translated --------------------------------------------------
@dataclass(frozen=True)
class Line:
    kind: Kind
    text: str


def screenplay_lines(text: str) -> list[Line]:
    """Each line of a Fountain text with what it is. A cue is a line in capitals after a
    blank line with more text under it; the lines under it are its parentheticals and
    dialogue until the next blank line."""
    raw = text.splitlines()
    out: list[Line] = []
    speaking = False
    for i, line in enumerate(raw):
        bare = line.strip()
        after_blank = i == 0 or not raw[i - 1].strip()
        following = i + 1 < len(raw) and bool(raw[i + 1].strip())
        if not bare:
            out.append(Line("blank", line))
            speaking = False
        elif speaking:
            aside = bare.startswith("(") and bare.endswith(")")
            out.append(Line("parenthetical" if aside else "dialogue", line))
        elif after_blank and parse_heading(line) is not None:
            out.append(Line("heading", line))
        elif after_blank and (
            _TRANSITION.match(bare) or (bare.startswith(">") and not bare.endswith("<"))
        ):
            out.append(Line("kept", line))
        elif (
            after_blank
            and following
            and (bare.startswith("@") or _CUE_LIKE.match(bare))
            and not bare.startswith("!")
        ):
            out.append(Line("cue", line))
            speaking = True
        elif bare.startswith(("#", "=", "[[", "/*", "*/")) or not _LETTER.search(bare):
            out.append(Line("kept", line))
        else:
            out.append(Line("action", line))
    return out


@dataclass(frozen=True)
class Unit:
    """One line the model translates: the line's index, what stays around it, and the text
    with names as tokens."""

    index: int
    prefix: str
    masked: str
    suffix: str
    tokens: tuple[str, ...]  # the tokens in ``masked``, in order

    @property
    def bound(self) -> int:
        """At most this many characters between two tokens of the translation: room for a
        translation three times as long as the line, however long the line. A stretch that
        reaches it was cut by the grammar, and is refused (see ``build_lines``)."""
        return 3 * len(self.masked) + 40


def _split_line(line: Line) -> tuple[str, str, str]:
    text = line.text
    lead = text[: len(text) - len(text.lstrip())]
    core = text.strip()
    if line.kind == "parenthetical":
        return f"{lead}(", core[1:-1].strip(), ")"
    if core.startswith("!"):
        return f"{lead}!", core[1:], ""
    return lead, core, ""


# ---- the names: a glossary from the bible ------------------------------------------------------
@dataclass
class Glossary:
    terms: list[GlossaryTerm]
    pattern: re.Pattern[str] | None
    numbers: dict[str, int]

    def mask(self, text: str) -> tuple[str, tuple[str, ...]]:
        if self.pattern is None:
            return text, ()
        found: list[str] = []

        def token(m: re.Match[str]) -> str:
            t = f"⟦{self.numbers[m.group(0)]}⟧"
            found.append(t)
            return t

        return self.pattern.sub(token, text), tuple(found)

    def unmask(self, text: str) -> str:
        spelled = {f"⟦{n}⟧": term for term, n in self.numbers.items()}
        return _TOKEN.sub(lambda m: spelled[m.group(0)], text)


def is_proper_name(name: str) -> bool:
    """A name with no lowercase word: 'Maren', 'Dr. Park', 'The Anchor & Ash'. Not 'the
    captain', "Maren's daughter" or 'Anchor and Ash': a phrase with a lowercase word holds
    words the translation must translate."""
    words = name.split()
    firsts = [m.group(0) for m in map(_LETTER.search, words) if m]
    return len(name) > 1 and bool(firsts) and not any(c.islower() for c in firsts)


def glossary_for(call: Call, text: str) -> Glossary:
    """The bible's names and aliases that the text uses, as the bible spells them or in
    capitals: characters, places and other entries, each name alone and only a proper name
    (``is_proper_name``). Episode and arc titles are not names ('Ballast', 'The Bridge'):
    the translation translates them."""
    entries: dict[str, tuple[str, str]] = {}
    for entity in call.services.bible.entities(call.show, None, call.as_of):
        if entity.type in NOT_NAMES:
            continue
        for name in entity.names:
            name = name.strip()
            if is_proper_name(name):
                for spelled in (name, name.upper()):
                    entries.setdefault(spelled, (entity.name, entity.type))
    if not entries:
        return Glossary([], None, {})
    words = sorted(entries, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w⟦])(?:" + "|".join(map(re.escape, words)) + r")(?![\w⟧])")
    used = list(dict.fromkeys(m.group(0) for m in pattern.finditer(text)))
    numbers = {term: n for n, term in enumerate(used, 1)}
    terms = [GlossaryTerm(term=t, entry=entries[t][0], type=entries[t][1]) for t in used]
    return Glossary(terms, pattern, numbers)


# ---- where the text comes from ---------------------------------------------------------------
NO_SCENE = (
    "There is no scene in this thread to translate. Paste it after "
    "{prefix}translate LANGUAGE, or draft one with {prefix}scene PREMISE first. Nothing was "
    "saved."
)


def language_and_text(call: Call) -> tuple[str, str]:
    """The language's code and the text: typed options give them apart; typed text gives
    them together ('translate fr INT. QUAY…', 'translate simplified chinese …')."""
    said = (call.arg("language") or "").strip()
    text = call.arg("text") or ""
    words = said.split()
    for n in (2, 1):
        if len(words) >= n and " ".join(words[:n]).lower() in _BY_WORD:
            head = re.match(r"\s*" + r"\s+".join(map(re.escape, words[:n])), said)
            assert head is not None
            rest = said[head.end() :].strip()
            return _BY_WORD[" ".join(words[:n]).lower()], f"{rest}\n{text}".strip()
    asked = words[0] if words else ""
    raise BadRequest(
        f"I can't translate into '{asked}'. The languages are: {SUPPORTED}. For example: "
        f"{call.event.prefix}translate fr, in a thread with a scene. Nothing was saved."
    )


# ---- the model's part ------------------------------------------------------------------------
def line_schema(unit: Unit) -> dict[str, Any]:
    """The unit's tokens, in order, with free text around them; a line without tokens must
    start with a visible character (no blank translation)."""
    seg = f"{_FREE}{{0,{unit.bound}}}"
    if not unit.tokens:
        pattern = f'^[^ "\\\\\\n⟦⟧]{seg}$'
    else:
        pattern = "^" + seg + "".join(re.escape(t) + seg for t in unit.tokens) + "$"
    return {"type": "string", "pattern": pattern}


def section_schema(units: Sequence[Unit]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"lines": {"type": "array", "prefixItems": [line_schema(u) for u in units]}},
        "required": ["lines"],
    }


class SectionLines(BaseModel):
    lines: list[str]
    cut: list[int] = Field(default_factory=list)  # which of them the grammar cut off


CUT_MARK = " [cut off: check this line]"


def build_lines(units: Sequence[Unit], data: dict[str, Any]) -> SectionLines:
    """The section's translated lines. One that lost a name is refused (retried, then
    reported); one the grammar cut at its length is kept but marked, never silently."""
    lines = data["lines"]
    if len(lines) != len(units):
        raise ValueError(f"expected {len(units)} lines, got {len(lines)}")
    cut: list[int] = []
    for i, (unit, line) in enumerate(zip(units, lines, strict=True)):
        if tuple(_TOKEN.findall(line)) != unit.tokens:
            raise ValueError("a translated line lost a name")
        if any(len(stretch) >= unit.bound for stretch in _TOKEN.split(line)):
            cut.append(i)
    tidy = [" ".join(line.split()) + (CUT_MARK if i in cut else "") for i, line in enumerate(lines)]
    return SectionLines(lines=tidy, cut=cut)


@dataclass
class Section:
    units: list[Unit]
    prompt: str
    max_tokens: int


def sections_of(
    call: Call, lines: Sequence[Line], units: Sequence[Unit], glossary: Glossary, language: str
) -> list[Section]:
    """Scene by scene (a heading starts a new section), at most MAX_UNITS lines each, and
    no more than the model's window takes."""
    services = call.services
    window = services.backend.n_ctx - MARGIN
    legend = (
        # what each token is, not the name itself: a model shown the names writes them into
        # its free text too (the bundled one echoed "⟦1⟧ = Maren"), where code cannot keep them
        "\n".join(f"⟦{glossary.numbers[t.term]}⟧ = a {t.type}" for t in glossary.terms)
        or "(no names in these lines)"
    )

    def made(group: list[Unit]) -> Section:
        numbered = "\n".join(f"{i}. {u.masked}" for i, u in enumerate(group, 1))
        prompt = services.prompts.render(
            "translate", show=call.show, language=language, glossary=legend, lines=numbered
        )
        most = sum((len(u.tokens) + 1) * u.bound + 8 * len(u.tokens) + 8 for u in group) + 40
        return Section(group, prompt, most)

    out: list[Section] = []
    group: list[Unit] = []
    scene_of = 0
    for unit in units:
        heading_before = any(ln.kind == "heading" for ln in lines[scene_of : unit.index])
        scene_of = unit.index
        if group and (len(group) >= MAX_UNITS or heading_before):
            out.append(made(group))
            group = []
        trial = made([*group, unit])
        if group and services.backend.count_tokens(trial.prompt) + trial.max_tokens > window:
            out.append(made(group))
            group = []
        group.append(unit)
    if group:
        out.append(made(group))
    return out


async def run(call: Call) -> AsyncIterator[Update]:
    services = call.services
    code, text = language_and_text(call)
    language = LANGUAGES[code][0]
    label = "the pasted text"
    if not text:
        text, label = last_scene_text(call, NO_SCENE)
    lines = screenplay_lines(text)
    parts = [
        (i, *_split_line(line))
        for i, line in enumerate(lines)
        if line.kind in ("dialogue", "parenthetical", "action")
    ]
    parts = [p for p in parts if _LETTER.search(p[2])]
    # Names in the lines the model reads; cues and headings are never sent, so never masked.
    glossary = glossary_for(call, "\n".join(core for _, _, core, _ in parts))
    units = []
    for i, prefix, core, suffix in parts:
        masked, tokens = glossary.mask(core)
        units.append(Unit(i, prefix, masked, suffix, tokens))
    if not units:
        raise BadRequest(
            "That text has no dialogue or action to translate (headings and cues stay as they "
            "are). Nothing was saved."
        )
    sections = sections_of(call, lines, units, glossary, language)
    for section in sections:
        material = "\n".join(u.masked for u in section.units)
        check_fits(
            services,
            section.prompt,
            section.max_tokens,
            material,
            "A line",
            label == "the pasted text",
        )
    yield Working()
    n = len(sections)
    yield Delta(f"Translating into {language} in {n} section{'s' if n > 1 else ''}…\n")
    out = [line.text for line in lines]
    cut_lines = 0
    for done, section in enumerate(sections, 1):
        units_here = section.units
        translated = await services.produce(
            StructuredRequest(
                what=f"translation (section {done} of {n})",
                messages=({"role": "user", "content": section.prompt},),
                schema=section_schema(units_here),
                build=partial(build_lines, units_here),
                lane=call.event.lane,
                max_tokens=section.max_tokens,
                temperature=services.config.structured_temperature,
            )
        )
        for unit, said in zip(units_here, translated.lines, strict=True):
            out[unit.index] = f"{unit.prefix}{glossary.unmask(said)}{unit.suffix}"
        cut_lines += len(translated.cut)
        yield Delta(f"Translated {done} of {n} sections…\n")
    fountain = "\n".join(out).rstrip() + "\n"
    result = Translation(
        language=language,
        code=code,
        source=label,
        original=text,
        fountain=fountain,
        sections=n,
        glossary=glossary.terms,
        cut_lines=cut_lines,
    )
    name = f"translation-{code.lower()}-{file_slug(label, 'scene')}.fountain"
    yield Final(translation_reply(result, name))


def translation_reply(t: Translation, name: str) -> Reply:
    head = f"{render.bold('Translation')} into {t.language} of {t.source}"
    kept = ", ".join(dict.fromkeys(g.term for g in t.glossary))
    tail = [f"Names kept as the bible spells them: {kept}." if kept else ""]
    if t.cut_lines:
        tail.append(
            f"{t.cut_lines} line(s) ran past their length and were cut off: they are marked "
            f"'{CUT_MARK.strip()}'. Check them, or ask again."
        )
    tail = [line for line in tail if line]
    body = "\n".join([head, "```", render.in_code(t.fountain.rstrip()), "```", *tail])
    brief = "\n".join([head, *tail, f"The translation is attached as {name}."])
    return Reply(
        kind="translate",
        text=body,
        result=t,
        files=[
            Attachment(
                name=name,
                mime="text/plain",
                data=t.fountain.encode("utf-8"),
                title=f"Translation into {t.language}",
                when_long=True,
            )
        ],
        brief=brief,
    )


SPEC = register(
    CommandSpec(
        "translate",
        "Translate a scene into English, Simplified Chinese, Spanish, French, German or "
        "Japanese, keeping its form and the bible's names.",
        (
            Param("language", f"The language: {SUPPORTED}.", rest=True),
            Param(
                "text",
                "The scene or dialogue; empty for the thread's last drafted scene.",
                required=False,
                rest=True,
                reads_file=True,
            ),
        ),
        ("translate fr", "translate zh INT. WHEELHOUSE - NIGHT …", "translate Japanese"),
        stream=run,
        result=Translation,
        prompt="translate",
        slow=True,
    )
)
