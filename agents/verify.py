"""Check a model's text against the canon retrieved for it before a writer is left with it.

A small or base model continues whatever it is shown: it echoes its instructions, invents
"canon excerpts" under real citation labels, and loops. Each of those is cut here, by rules
a writer can check by hand:

- a quote (a '>' line, or quoted words of three or more) must appear, after whitespace and
  punctuation are normalised, in the section it cites (uncited: in some retrieved section,
  or in what the writers themselves said); otherwise its line or sentence goes;
- a citation must name a section retrieved for this answer; otherwise the label goes;
- a sentence that reproduces the prompt's instructions (word n-grams shared with them) goes,
  and so does a line in the prompt's own turn format ("dana asks: …");
- the text is cut where it starts repeating itself.

Pure functions over strings, so every rule is tested without a model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from agents.canon import unique
from agents.schemas import Citation
from agents.text import WORD, contains, content_words, ngrams, norm, sentences, words
from memory.bible_parse import Chunk

LABEL = re.compile(r"\[([^\[\]\n]*?\.md)(?:\s*>\s*([^\[\]\n]*?))?\s*\]")
_SOURCES = re.compile(r"^\s*sources?\s*:\s*", re.IGNORECASE)
_QUOTED = re.compile(r"“([^”\n]+)”|\"([^\"\n]+)\"")
_TURN_FORMAT = re.compile(r"^\s*[\w][\w .'-]{0,40}\s(?:asks|says|\(to the room\))\s*:", re.I)
ECHO_N = 4  # words per n-gram when comparing a sentence with the instructions
ECHO_SHARE = 0.5  # share of a sentence's n-grams found in the instructions that marks an echo
ECHO_RUN = 8  # any run this long copied from the instructions is an echo on its own
LOOP_N = 6  # a run of this many words said a second time starts a loop
QUOTE_MIN_WORDS = 3
THIN_WORDS = 6
SUPPORT_SHARE = 0.5  # of a claim's own words that the retrieved canon must contain
# A sentence that opens like this offers an idea; it is not presented as canon.
_SUGGESTION = re.compile(
    r"^\W*(?:suggestion|idea|one idea|what if|maybe|perhaps|you could|consider)\b", re.I
)


@dataclass(frozen=True)
class Section:
    """A retrieved section the answer may quote and cite."""

    citation: Citation
    text: str  # normalised
    numbers: frozenset[str]  # every number the section, its heading or its entry states
    vocabulary: frozenset[str]  # content words of the section, its heading and its names

    @classmethod
    def of(cls, chunk: Chunk) -> Section:
        stated = " ".join([chunk.heading, chunk.text, *map(str, chunk.metadata.values())])
        return cls(
            Citation(file=chunk.file, heading=chunk.heading),
            norm(chunk.text),
            frozenset(_numbers(words(stated))),
            frozenset(content_words(stated)),
        )


@dataclass
class Verified:
    text: str
    citations: list[Citation]
    removed: list[str] = field(default_factory=list)  # what was cut and why, for the log

    @property
    def thin(self) -> bool:
        """Too little survived to stand as an answer on its own."""
        return len(words(LABEL.sub(" ", self.text))) < THIN_WORDS


@dataclass
class _Context:
    sections: dict[tuple[str, str], Section]
    instructions: set[tuple[str, ...]]
    instruction_runs: set[tuple[str, ...]]
    instruction_text: str
    said: list[str]  # normalised words the writers said (quotable too)
    grounded: bool  # claims must be borne out by the retrieved canon
    removed: list[str]
    used: list[Citation]

    def find(self, file: str, heading: str) -> Section | None:
        return self.sections.get((file.strip(), heading.strip()))


def cut_loop(text: str, n: int = LOOP_N) -> tuple[str, bool]:
    """Text up to where a run of n words (citation labels aside) comes round again, ending on
    the last full sentence before it."""
    seen: set[tuple[str, ...]] = set()
    spans = [(m.start(), m.group(0).lower()) for m in WORD.finditer(LABEL.sub(_blank, text))]
    for i in range(len(spans) - n + 1):
        gram = tuple(w for _, w in spans[i : i + n])
        if gram in seen:
            head = text[: spans[i][0]]
            ends = [m.end() for m in re.finditer(r"[.!?][\"”’)]?(?=\s)|\n", head)]
            return (head[: ends[-1]] if ends else head).rstrip(), True
        seen.add(gram)
    return text, False


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


def verify(
    text: str,
    retrieved: Iterable[Chunk],
    instructions: str,
    said: Sequence[str] = (),
    *,
    grounded: bool = False,
) -> Verified:
    """The verified form of a model's text. ``instructions`` is the prompt less the canon and
    the writers' words; ``said`` is what the writers said, which may be quoted back.

    ``grounded`` (answers about canon, not brainstorm riffs) also drops a sentence whose own
    words (those not in the question) are mostly absent from the retrieved canon, unless it
    presents itself as a suggestion."""
    inst = words(instructions)
    ctx = _Context(
        sections={(s.citation.file, s.citation.heading): s for s in map(Section.of, retrieved)},
        instructions=ngrams(inst, ECHO_N),
        instruction_runs=ngrams(inst, ECHO_RUN),
        instruction_text=" ".join(inst),
        said=[norm(s) for s in said],
        grounded=grounded,
        removed=[],
        used=[],
    )
    text, looped = cut_loop(text)
    if looped:
        ctx.removed.append("loop: the text repeated itself from here on")
    out: list[str] = []
    pending: list[Citation] = []  # labels on a line of their own, for the quotes below them
    for line in text.splitlines():
        stripped = line.strip()
        bare = LABEL.sub(" ", stripped).strip()
        if not stripped:
            pending = []
            out.append("")
        elif _SOURCES.match(bare) and not _SOURCES.sub("", bare).strip():
            pending = []
            continue  # a Sources line is rebuilt from the citations that survive
        elif not bare:
            pending = _keep_labels(ctx, stripped)
        elif bare.startswith(">"):
            kept = _quote_line(ctx, stripped, pending)
            if kept:
                out.append(kept)
        else:
            pending = []
            kept = _prose_line(ctx, stripped)
            if kept:
                out.append(kept)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()
    return Verified(body, unique(ctx.used), ctx.removed)


def _retrieved(ctx: _Context, text: str) -> tuple[list[Citation], list[str]]:
    """The citations in text that name retrieved sections, and the labels that do not."""
    kept: list[Citation] = []
    unknown: list[str] = []
    for m in LABEL.finditer(text):
        section = ctx.find(m.group(1), m.group(2) or "")
        if section is None:
            unknown.append(m.group(0))
        else:
            kept.append(section.citation)
    return kept, unknown


def _keep_labels(ctx: _Context, text: str) -> list[Citation]:
    kept, unknown = _retrieved(ctx, text)
    ctx.removed += [f"citation to a section not retrieved: {label}" for label in unknown]
    return kept


def _quote_line(ctx: _Context, line: str, pending: list[Citation]) -> str:
    """A '>' line: kept only when its words are in the section it cites."""
    cites = _keep_labels(ctx, line) or pending
    body = LABEL.sub(" ", line).strip().lstrip(">").strip()
    if not body:
        return ""
    source = _source_of(ctx, norm(body), cites, quote=True)
    if source is None:
        ctx.removed.append(f"quote not in the bible: {body[:80]}")
        return ""
    if source is _WRITERS:
        return f"> {' '.join(body.split())}"
    ctx.used.append(source)
    return f"> {' '.join(body.split())} {source.label}"


def _source_of(
    ctx: _Context, quoted: str, cites: Sequence[Citation], *, quote: bool
) -> Citation | None:
    """The section a quote is verbatim from: a cited one if it cites any, else any retrieved
    section. A writer's own words count as verbatim too (cited to nothing)."""
    if not quoted:
        return None
    candidates = [ctx.find(c.file, c.heading) for c in cites] if cites else ctx.sections.values()
    for section in candidates:
        if section is not None and contains(section.text, quoted):
            return section.citation
    if quote and not cites and any(contains(s, quoted) for s in ctx.said):
        return _WRITERS
    return None


_WRITERS = Citation(file="", heading="")  # marks a quote of the writers' own words


def _prose_line(ctx: _Context, line: str) -> str:
    if _TURN_FORMAT.match(LABEL.sub(" ", line)):
        ctx.removed.append(f"prompt format: {line[:80]}")
        return ""
    bare = LABEL.sub(" ", line)
    cites, _ = _retrieved(ctx, line)  # recorded sentence by sentence below
    for m in _QUOTED.finditer(bare):
        span = m.group(1) or m.group(2) or ""
        if len(sentences(span)) > 1 and _source_of(ctx, norm(span), cites, quote=True) is None:
            ctx.removed.append(f"quote not in the bible: {norm(span)[:80]}")
            return ""  # a quote over several sentences: none of them can stand alone
    kept: list[str] = []
    for sentence in sentences(line):
        checked = _sentence(ctx, sentence)
        if checked:
            kept.append(checked)
    return " ".join(kept)


def _sentence(ctx: _Context, sentence: str) -> str:
    bare = LABEL.sub(" ", sentence)
    tokens = words(bare)
    if _echoes(ctx, tokens):
        ctx.removed.append(f"instruction text: {' '.join(sentence.split())[:80]}")
        return ""
    cites = _keep_labels(ctx, sentence)
    for m in _QUOTED.finditer(bare):
        quoted = norm(m.group(1) or m.group(2) or "")
        if len(quoted.split()) < QUOTE_MIN_WORDS:
            continue
        source = _source_of(ctx, quoted, cites, quote=True)
        if source is None:
            ctx.removed.append(f"quote not in the bible: {quoted[:80]}")
            return ""
        if source is not _WRITERS and source not in cites:
            cites.append(source)
    if not tokens:
        return ""
    if ctx.grounded and not _supported(ctx, bare):
        ctx.removed.append(f"claim not in the retrieved canon: {' '.join(bare.split())[:80]}")
        return ""
    stray = _numbers(tokens) - {n for c in cites for n in _stated_numbers(ctx, c)}
    if cites and stray:
        ctx.removed.append(f"number not in the cited section ({', '.join(sorted(stray))})")
        return ""
    ctx.used.extend(cites)
    plain = " ".join(LABEL.sub("", sentence).split())
    plain = re.sub(r"\s+([.,;:!?])", r"\1", plain)
    return " ".join([plain, *(c.label for c in unique(cites))])


def _supported(ctx: _Context, sentence: str) -> bool:
    if _SUGGESTION.match(sentence):
        return True
    said = {w for s in ctx.said for w in content_words(s)}
    own = content_words(sentence) - said
    if len(own) < 2:
        return True
    canon = set().union(*(s.vocabulary for s in ctx.sections.values()))
    return len(own & canon) / len(own) >= SUPPORT_SHARE


def _numbers(tokens: Iterable[str]) -> set[str]:
    return {t for t in tokens if t.isdigit()}


def _stated_numbers(ctx: _Context, citation: Citation) -> frozenset[str]:
    section = ctx.find(citation.file, citation.heading)
    return section.numbers if section else frozenset()


def _echoes(ctx: _Context, tokens: list[str]) -> bool:
    if not tokens or not ctx.instructions:
        return False
    if len(tokens) < ECHO_N:  # a short line ("Rules:") is an echo if the prompt has it whole
        return contains(ctx.instruction_text, " ".join(tokens)) and len(tokens) > 0
    if ngrams(tokens, ECHO_RUN) & ctx.instruction_runs:
        return True
    grams = [tuple(tokens[i : i + ECHO_N]) for i in range(len(tokens) - ECHO_N + 1)]
    shared = sum(g in ctx.instructions for g in grams)
    return shared / len(grams) >= ECHO_SHARE
