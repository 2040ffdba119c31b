"""Can a room trust the answers? Plain questions on the sample show, checked for what must be
absent as well as what must be present.

For each question in bench/answer_questions.yaml (written before any tuning) the room answers
in a fresh thread, and the reply is checked independently of the room's own verifier:

- echo: the reply repeats eight words in a row from any prompt file (instruction text);
- invented quote: a '>' line or a quoted span of three or more words that is not in the
  bible (in the cited section, where the quote carries a citation);
- bad citation: a [file > heading] label that names no section retrieved for this answer
  (or, for a reply that does not list what it retrieved, no section of the bible);
- fact: every fact the question lists is in the reply; an uncovered question must be flagged.

Runs the bundled model, and also WR_MODEL_PATH when it is set. Targets: echo, invented
quotes and bad citations 0 on every model; fact accuracy >= 0.8 on the bundled model; time
per answer at most 1.2x the figure recorded before the change (README).
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.messages import Final, Reply
from bench.common import cases_from, ingest_sample, message, model_runs
from bot.compose import build_app
from bot.settings import Settings
from memory.bible_parse import parse_bible_file

QUESTIONS = Path(__file__).with_name("answer_questions.yaml")
PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
SHOW = "bench-show"
ECHO_WORDS = 8
_LABEL = re.compile(r"\[([^\[\]]*?\.md)(?:\s*>\s*([^\[\]]*))?\]")
_QUOTED = re.compile(r"“([^”]+)”|\"([^\"]+)\"")


def norm(text: str) -> str:
    """Lowercase words only: quotes, dashes, emphasis and spacing never decide a match."""
    text = text.lower().replace("*", "").replace("’", "'").replace("—", " ").replace("–", " ")
    text = re.sub(r"[^\w\s']", " ", text)
    return " ".join(text.split())


def shingles(text: str, n: int = ECHO_WORDS) -> set[tuple[str, ...]]:
    words = norm(text).split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def instruction_shingles() -> set[tuple[str, ...]]:
    """Every run of words in the prompt files, placeholders treated as breaks."""
    out: set[tuple[str, ...]] = set()
    for path in PROMPTS.glob("*.txt"):
        for piece in re.split(r"\{[^}]*\}", path.read_text()):
            out |= shingles(piece)
    return out


def bible_sections(folder: Path) -> dict[tuple[str, str], str]:
    """(file, heading) -> normalised text, read straight from the files."""
    out: dict[tuple[str, str], str] = {}
    for path in sorted(folder.rglob("*.md")):
        rel = path.relative_to(folder).as_posix()
        for chunk in parse_bible_file(path, rel):
            out[(chunk.file, chunk.heading)] = norm(chunk.text)
    return out


def quotes(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(quoted words, citations on the same line) for '>' lines and quoted spans."""
    found: list[tuple[str, list[tuple[str, str]]]] = []
    for line in text.splitlines():
        cites = [(m.group(1).strip(), (m.group(2) or "").strip()) for m in _LABEL.finditer(line)]
        bare = _LABEL.sub(" ", line).strip()
        if bare.startswith(">"):
            body = bare.lstrip("> ").strip()
            if len(norm(body).split()) >= 3:
                found.append((body, cites))
            continue
        for m in _QUOTED.finditer(bare):
            span = m.group(1) or m.group(2) or ""
            if len(norm(span).split()) >= 3:
                found.append((span, cites))
    return found


@dataclass
class Verdict:
    echo: bool
    invented: list[str]
    bad_citations: list[str]
    fact: bool


def judge(
    reply: Reply,
    item: dict[str, Any],
    sections: dict[tuple[str, str], str],
    instructions: set[tuple[str, ...]],
) -> Verdict:
    text = reply.text
    echo = bool(shingles(text) & instructions)
    invented = []
    for span, cites in quotes(text):
        where = [sections.get(c, "") for c in cites] or list(sections.values())
        if not any(norm(span) in body for body in where):
            invented.append(span)
    data = reply.data or {}
    retrieved = {(c["file"], c["heading"]) for c in data.get("retrieved", [])} or set(sections)
    bad = [
        m.group(0)
        for m in _LABEL.finditer(text)
        if (m.group(1).strip(), (m.group(2) or "").strip()) not in retrieved
    ]
    said = norm(text)
    if item.get("covered", True):
        fact = all(any(norm(alt) in said for alt in alts) for alts in item["facts"])
    else:
        fact = "nothing on this" in said
    return Verdict(echo, invented, bad, fact)


@dataclass
class Figures:
    label: str
    n: int = 0
    echo: int = 0
    invented: int = 0
    bad: int = 0
    facts: int = 0
    errors: int = 0
    times: list[float] = field(default_factory=list)

    def show(self) -> None:
        share = lambda k: k / self.n if self.n else 0.0  # noqa: E731
        print(f"answers on {self.n} questions, {self.label}:")
        print(f"  echoing instructions         {share(self.echo):.3f}  (target 0)")
        print(f"  with invented quotes         {share(self.invented):.3f}  (target 0)")
        print(f"  citing unretrieved sections  {share(self.bad):.3f}  (target 0)")
        print(f"  fact accuracy                {share(self.facts):.3f}  (target >= 0.8 bundled)")
        print(f"  errors                       {self.errors}")
        median = statistics.median(self.times) if self.times else 0.0
        print(f"  median time per answer       {median:.2f} s")


async def run_model(
    label: str, settings: Settings, questions: list[dict[str, Any]], verbose: bool
) -> Figures:
    app = build_app(settings)
    figures = Figures(label)
    try:
        sections = bible_sections(ingest_sample(app, SHOW))
        instructions = instruction_shingles()
        for i, item in enumerate(questions):
            start = time.monotonic()
            reply = Reply(kind="error", text="no reply")
            async for event in app.room.handle(message(item["q"], f"q{i}", SHOW)):
                if isinstance(event, Final):
                    reply = event.reply
            figures.times.append(time.monotonic() - start)
            figures.n += 1
            if reply.kind == "error":
                figures.errors += 1
            v = judge(reply, item, sections, instructions)
            figures.echo += v.echo
            figures.invented += bool(v.invented)
            figures.bad += bool(v.bad_citations)
            figures.facts += v.fact
            if verbose and (v.echo or v.invented or v.bad_citations or not v.fact):
                flags = [
                    "echo" if v.echo else "",
                    f"invented {v.invented}" if v.invented else "",
                    f"bad {v.bad_citations}" if v.bad_citations else "",
                    "" if v.fact else "fact missing",
                ]
                print(f"--- {item['q']}  [{'; '.join(f for f in flags if f)}]")
                print(reply.text.strip()[:900])
    finally:
        app.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    questions, verbose = cases_from(argv, __doc__, QUESTIONS, "questions", "print failing answers")
    for label, settings in model_runs():
        asyncio.run(run_model(label, settings, questions, verbose)).show()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
