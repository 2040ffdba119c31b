"""`synopsis TARGET [length]`: a synopsis of an episode, an arc, the brainstorm thread or a
writer's pasted text, as a logline, a paragraph or a page.

What to summarise is decided by code, never by the model: `thread` is the brainstorm this
is said in (its pitches from the ledger), an episode code or an entry's name is that bible
file's sections, and anything longer than a name is the writer's own text. The model writes
only the sentences, each citing the labels of what it was shown; code turns the labels into
citations and credits, so a sentence cannot cite a section it was not shown or credit a
writer the ledger does not record for the pitch.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agents import render
from agents.brainstorm import DECISION, TEMPLATE_OVERHEAD, marked, one_line, open_questions, ranked
from agents.canon import citation, excerpt_block, quote, unique
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.continuity.run import flag_lines
from agents.desk import episode_list
from agents.errors import BadRequest, StructuredOutputError
from agents.llm.base import StructuredRequest
from agents.llm.structured import token_allowance
from agents.messages import Reply
from agents.schemas import (
    SYNOPSIS_LENGTHS,
    Citation,
    Credit,
    PitchCredit,
    Synopsis,
    SynopsisSentence,
    synopsis_schema,
)
from agents.services import Services
from agents.text import contains, content_words, ngrams, norm, sentences, words
from agents.verify import LABEL, verify
from memory.bible_parse import Chunk
from memory.episodes import Episode, EpisodeCodeError, parse_episode
from memory.ledger import Brainstorm, LedgerMessage, Pitch
from memory.lexical import normalise_name

Kind = Literal["episode", "arc", "thread", "text"]
log = logging.getLogger(__name__)

# How the prompt names each length (as beats names its structures).
LENGTH_LABELS = {
    "logline": "a logline, in one sentence",
    "paragraph": "a paragraph of three to five sentences",
    "page": "a page of eight to twelve sentences",
}
THREAD = frozenset({"thread", "this thread", "the thread", "brainstorm", "this brainstorm"})
NAME_WORDS = 5  # a target of more words than this is the writer's text, not a name
SENTENCE_JSON = 30  # characters a sentence's JSON adds around its text (keys, labels)
OUTPUT_OVERHEAD = 40
MAX_PITCHES = 12  # the top pitches by votes a thread synopsis is written from
NOTE_CHARS = 300  # one room message's share of the material
MIN_WORDS = 3  # a checked sentence shorter than this says nothing on its own
REPEAT_N = 3  # word runs compared to find a sentence said twice
REPEAT_SHARE = 0.5  # of the shorter sentence's runs, found in the other
# A synopsis retells its material: sampled cooler than invention (as a wrap-up summary is),
# which also keeps a small model inside the grammar, where each step outside it is slow.
SYNOPSIS_TEMPERATURE = 0.3
# Labels a base model writes into its prose ("[S1]", "(P2, S1)"): the sentence's sources
# say them, so they are cut from its text.
_INLINE_LABELS = re.compile(r"[\[(]\s*[SP]\d+(?:\s*[,;]\s*[SP]\d+)*\s*[\])]|\b[SP]\d+\b")
_KINDS = ("episode", "arc")
_ENDS = (".", "!", "?", "…")
_DEBRIS = re.compile(r"[{}\[\]<>|\\]")
_PERSON = frozenset({"i", "me", "my", "we", "our", "us", "you", "your"})


@dataclass
class Material:
    """What one synopsis is written from: the canon shown (S1..), the pitches shown (P1..),
    the rest of the material as the prompt quotes it, and what the checks compare with."""

    kind: Kind
    target: str  # how the reply names what it summarises
    canon: list[Chunk] = field(default_factory=list)
    pitches: list[Pitch] = field(default_factory=list)
    material: str = ""
    said: list[str] = field(default_factory=list)  # the writers' words (may be repeated)
    episode: Episode | None = None  # the episode summarised: continuity is checked as of it
    topic: str = ""  # a thread's topic: its words credit no pitch in particular
    floor: list[str] = field(default_factory=list)  # what _floor may quote besides these
    name: str = ""  # how the prompt names a bible entry

    @property
    def cite_least(self) -> int:
        """A sentence about a bible entry must cite one of its sections."""
        return 1 if self.kind in _KINDS else 0


# ---- what TARGET names ---------------------------------------------------------------------
def _listing(call: Call) -> str:
    """The episodes and arcs the room may know, for a target that names none of them."""
    bible, show = call.services.bible, call.show
    episodes = episode_list(call.services, show, call.as_of, empty="")
    arcs = [e.name for e in bible.entities(show, "arc", call.as_of)]
    parts = []
    if episodes:
        parts.append(f"Episodes: {episodes}.")
    if arcs:
        parts.append("Arcs: " + ", ".join(arcs) + ".")
    return " ".join(parts) or f"The {show} bible has no episodes or arcs yet."


def _episode_code(target: str, season: int) -> tuple[Episode, str] | None:
    """'S1E04', '104' or 'episode 4' whole, else a code and the title after it ('S1E04
    Undertow', as a synopsis names its episode)."""
    code, _, title = target.partition(" ")
    for value, named in ((target, ""), (code, title)):
        try:
            return parse_episode(value, season), named
        except EpisodeCodeError:
            continue
    return None


def _by_code(call: Call, target: str) -> Material | None:
    """An episode code: that episode's file, unless the room is breaking an earlier one."""
    bible, show, as_of = call.services.bible, call.show, call.as_of
    latest = bible.latest_episode(show)
    coded = _episode_code(target, latest.season if latest else 1)
    if coded is None:
        return None
    wanted, title = coded
    if as_of is not None and wanted > as_of:
        if title:
            return None  # a code and more words: perhaps the writer's text
        raise BadRequest(
            f"{wanted.code} comes after {as_of.code}, the episode this room is breaking, "
            f"so its canon is hidden here. {_listing(call)} Nothing was saved."
        )
    found = [
        f
        for f in bible.facts(show).values()
        if f.type == "episode"
        and f.first == wanted
        and (not title or normalise_name(title) in map(normalise_name, f.names))
    ]
    if not found:
        if title:
            return None  # 'S1E04 and then…' names no episode: the writer's text, or a miss
        raise BadRequest(
            f"The {show} bible has no episode {wanted.code}. {_listing(call)} Nothing was saved."
        )
    chunks = bible.sections(show, as_of).get(found[0].file, [])
    name = f"{wanted.code} {found[0].name}"
    return Material("episode", name, chunks, name=name, episode=wanted)


def _by_name(call: Call, target: str) -> Material | None:
    """An episode's or an arc's name or alias ('Undertow', 'the bridge arc'), with the
    sections the room may see: for a room breaking an earlier episode, a later episode's
    title names nothing (all its sections are revealed later)."""
    bible, show, as_of = call.services.bible, call.show, call.as_of
    other = None
    for kind in _KINDS:
        found = bible.lookup(show, target, kind, as_of)
        if found is None:
            continue
        entity, chunks = found
        facts = bible.facts(show, as_of)[entity.file]
        if entity.type not in _KINDS:
            other = other or entity.type
        if entity.type != kind:
            continue
        if kind == "arc":
            return Material("arc", f"{entity.name} (arc)", chunks, name=entity.name)
        name = f"{facts.first.code} {entity.name}" if facts.first else entity.name
        return Material("episode", name, chunks, name=name, episode=facts.first)
    if other:
        raise BadRequest(
            f"'{target}' is a {other} in the {show} bible, not an episode or an arc. "
            f"{_listing(call)} Nothing was saved."
        )
    return None


def _unknown(call: Call, target: str) -> BadRequest:
    bible = call.services.bible
    nearest = list(
        dict.fromkeys(
            name
            for kind in _KINDS
            for name in bible.nearest_names(call.show, target, kind, as_of=call.as_of)
        )
    )
    hint = f" Nearest names: {', '.join(nearest)}." if nearest else ""
    return BadRequest(
        f"'{target}' is not an episode or an arc in the {call.show} bible.{hint} "
        f"{_listing(call)} To summarise your own text, paste more than {NAME_WORDS} words; in "
        f"a brainstorm thread, say: {call.event.prefix}synopsis thread. Nothing was saved."
    )


def resolve(call: Call, target: str) -> Material:
    """What TARGET names: the thread, an episode by code, an episode or arc by name, or
    else (more than a few words) the writer's own text."""
    if norm(target) in THREAD:
        if call.brainstorm is None:
            raise BadRequest(
                f"'synopsis thread' summarises a brainstorm thread, and this is not one. Start "
                f"one with {call.event.prefix}brainstorm TOPIC, or give an episode, an arc or "
                "your own text. Nothing was saved."
            )
        return Material("thread", f"this brainstorm: {call.brainstorm.topic}")
    if not words(target):
        raise BadRequest(
            "There is nothing to summarise there: give an episode (S1E04), an arc, 'thread' "
            "in a brainstorm, or paste your text. Nothing was saved."
        )
    found = _by_code(call, target) or _by_name(call, target)
    if found is not None:
        if not found.canon:
            raise BadRequest(
                f"{found.target} has no sections the room may see yet. Nothing was saved."
            )
        return found
    if len(words(target)) > NAME_WORDS:
        flat = " ".join(target.split())
        return Material("text", f"your text (“{one_line(flat, 60)}”)", floor=sentences(flat))
    raise _unknown(call, target)


# ---- the material, fitted to the model's window --------------------------------------------
def _fit(pieces: Sequence[str], cost: Any, room: int) -> int:
    """How many of ``pieces``, in order, fit in ``room`` tokens."""
    used = 0
    for i, piece in enumerate(pieces):
        used += cost(piece) + 1
        if used > room:
            return i
    return len(pieces)


def _excerpts(services: Services, chunks: Sequence[Chunk]) -> str:
    labels = [f"[S{i}]" for i in range(1, len(chunks) + 1)]
    return excerpt_block(services.prompts, chunks, labels)


def _with_canon(services: Services, m: Material, chunks: Sequence[Chunk], room: int) -> None:
    """The sections that fit in ``room`` tokens, best first."""
    cost = services.backend.count_tokens
    pieces = [f"[S{i}]\n{quote(c.text)}" for i, c in enumerate(chunks, 1)]
    header = cost(services.prompts.render("canon_block", excerpts=""))
    m.canon = list(chunks[: _fit(pieces, cost, room - header)])


def _thread_notes(messages: Sequence[LedgerMessage], cost: Any, room: int) -> list[str]:
    """What the room marked (decisions, questions), then as much of the rest of its talk as
    fits, the newest kept first; quoted as written but without authors, so the model has no
    names to misattribute."""
    questions = [q.text for q in open_questions(messages)]

    def is_mark(text: str) -> bool:
        return bool(DECISION.match(text)) or any(text.strip().endswith(q) for q in questions)

    said = [one_line(msg.text, NOTE_CHARS) for msg in messages if msg.kind in ("chat", "ask")]
    marks = [f"> {text}" for text in said if is_mark(text)]
    talk = [f"> {text}" for text in said if not is_mark(text)]
    kept = marks[: _fit(marks, cost, room)]
    room -= sum(cost(line) + 1 for line in kept)
    newest = talk[::-1][: _fit(talk[::-1], cost, room)]
    return kept + newest[::-1]


async def _thread(call: Call, m: Material, bs: Brainstorm, room: int) -> None:
    services = call.services
    ledger, cost = services.ledger, services.backend.count_tokens
    messages = await asyncio.to_thread(ledger.log.messages, bs.id)
    pitches = ranked(await asyncio.to_thread(ledger.pitches.of_brainstorm, bs.id))
    if not pitches and not any(msg.kind in ("chat", "ask") for msg in messages):
        raise BadRequest(
            "There is nothing to summarise in this thread yet: pitch with 'pitch: …' or talk "
            "it through, then ask again. Nothing was saved."
        )
    lines = [f"[P{i}] {one_line(p.text, NOTE_CHARS)}" for i, p in enumerate(pitches, 1)]
    shown = _fit(lines[:MAX_PITCHES], cost, room)
    m.pitches, m.topic = pitches[:shown], bs.topic
    m.floor = [d.text for d in marked(messages, DECISION)]
    room -= sum(cost(line) + 1 for line in lines[:shown])
    canon = await services.relevant(call.show, bs.topic, services.config.topic_canon, call.as_of)
    _with_canon(services, m, canon, room // 2)
    room -= services.backend.count_tokens(_excerpts(services, m.canon))
    kept = _thread_notes(messages, cost, room)
    m.said = [bs.topic, *(p.text for p in m.pitches), *(n[2:] for n in kept)]
    m.material = services.prompts.render(
        "synopsis_thread",
        topic=bs.topic,
        pitches="\n".join(lines[:shown]) or "> (none yet)",
        notes="\n".join(kept) or "> (nothing else)",
    )


async def _text(call: Call, m: Material, text: str, room: int, length: str) -> None:
    services = call.services
    cost = services.backend.count_tokens
    quoted = quote(text)
    needed = cost(quoted)
    if needed > room:
        over = needed - room
        cut = math.ceil(over * len(text) / needed)
        raise BadRequest(
            f"That text is about {needed:,} tokens, and a {length} synopsis here can be written "
            f"from about {room:,}. Cut about {cut:,} characters (of {len(text):,}) and ask "
            "again, or summarise it in parts. Nothing was saved."
        )
    canon = await services.relevant(call.show, text, services.config.search_k, call.as_of)
    _with_canon(services, m, canon, room - needed)
    m.said = [text]
    m.material = services.prompts.render("synopsis_text", text=quoted)


def _instructions(services: Services, kind: Kind) -> str:
    """The prompt less its material: what an echo is compared with, and what it costs."""
    prompts = services.prompts
    if kind == "thread":
        empty = prompts.render("synopsis_thread", topic="", pitches="", notes="")
    elif kind == "text":
        empty = prompts.render("synopsis_text", text="")
    else:
        empty = prompts.render("synopsis_entry", kind="", name="")
    return prompts.render("synopsis", show="", length="", canon="", material=empty)


# ---- the model's sentences, checked ----------------------------------------------------------
def _clean(text: str) -> str:
    """A sentence without the labels a model writes into prose; its sources carry them."""
    text = LABEL.sub(" ", _INLINE_LABELS.sub(" ", text))
    text = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split())).strip(" ,;:-")
    return text[:1].upper() + text[1:]


def _finished(text: str, cap: int) -> str:
    """A sentence the length cap cut off, back to its last full stop ('' when it has none):
    half a statement is not shown as one."""
    text = text.rstrip()
    if len(text) < cap - 1 or text.endswith(_ENDS):
        return text
    ends = [m.end() for m in re.finditer(r"[.!?…](?=\s)", text)]
    return text[: ends[-1]] if ends else ""


def _prose(text: str) -> bool:
    """Told as a synopsis is: no markup or JSON debris, no 'I' or 'you' (a base model that
    chats about the task writes those; a synopsis is in the third person)."""
    return not _DEBRIS.search(text) and not _PERSON & set(words(text))


def _distinct(m: Material) -> dict[int, set[str]]:
    """Each shown pitch's own words: in it, and in neither the topic nor another pitch."""
    topic = content_words(m.topic)
    own = {p.id: content_words(p.text) - topic for p in m.pitches}
    return {
        pid: ws - set().union(*(o for q, o in own.items() if q != pid)) for pid, ws in own.items()
    }


def _credited(m: Material, text: str, cited: Sequence[Pitch]) -> list[PitchCredit]:
    """The pitches a sentence is credited to: those it cites and shares a word with (past
    the topic's), and any whose own words it uses twice over, cited or not."""
    said = content_words(text)
    topic = content_words(m.topic)
    distinct = _distinct(m)
    used = [p for p in cited if said & (content_words(p.text) - topic)]
    used += [p for p in m.pitches if p not in used and len(said & distinct[p.id]) >= 2]
    return [PitchCredit(number=p.id, author=p.author) for p in sorted(used, key=lambda p: p.id)]


def _said_already(text: str, said: Sequence[str]) -> bool:
    """A sentence that repeats one already in the synopsis: most of its (or the other's)
    three-word runs are the other's. A small model says the same sentence again and again."""
    mine = ngrams(words(text), REPEAT_N)
    for other in said:
        theirs = ngrams(words(other), REPEAT_N)
        if not mine or not theirs:
            if norm(text) == norm(other):
                return True
        elif len(mine & theirs) >= REPEAT_SHARE * min(len(mine), len(theirs)):
            return True
    return False


def _cited(m: Material, text: str, cited: Sequence[Citation]) -> list[Citation]:
    """The sections a sentence is cited to: those it cites that bear it out at least half as
    well as the best shown section does (by the words they share), else that best section.
    On a thread or a text only words the writers did not say count, and two at least: a
    sentence made of their words states no canon, so it needs no citation."""
    said = set().union(*(content_words(s) for s in m.said)) if m.kind not in _KINDS else set()
    own = content_words(text) - said
    share = {citation(c).label: len(own & content_words(f"{c.heading} {c.text}")) for c in m.canon}
    best = max(share.values(), default=0)
    if best < (1 if m.kind in _KINDS else 2):
        return []
    kept = [c for c in cited if share.get(c.label, 0) * 2 >= best]
    return kept or [next(citation(c) for c in m.canon if share[citation(c).label] == best)]


def _checked(services: Services, m: Material, draft: Synopsis, cap: int) -> list[SynopsisSentence]:
    """The model's sentences that survive the checks (finished, told as prose, with no
    instruction text, no quote that is not in the material and no claim that neither the
    shown canon nor the writers' words bear out), each cited and credited by its words."""
    instructions = _instructions(services, m.kind)
    by_number = {p.id: p for p in m.pitches}
    kept: list[SynopsisSentence] = []
    for item in draft.sentences:
        text = _clean(_finished(item.text, cap))
        if not _prose(text):
            log.info("synopsis sentence dropped (unfinished or not prose): %s", item.text)
            continue
        checked = verify(text, m.canon, instructions, m.said, grounded=True)
        text = _clean(checked.text)
        if len(words(text)) < MIN_WORDS or _said_already(text, [k.text for k in kept]):
            log.info("synopsis sentence dropped: %s %s", item.text, checked.removed)
            continue
        sources = _cited(m, text, item.sources)
        if m.cite_least and not sources:
            log.info("synopsis sentence dropped (cites nothing it shares words with): %s", text)
            continue
        cited = [by_number[p.number] for p in item.pitches]
        pitches = _credited(m, text, cited)
        kept.append(item.model_copy(update={"text": text, "sources": sources, "pitches": pitches}))
    return kept


def _floor(m: Material, kept: list[SynopsisSentence], least: int) -> list[SynopsisSentence]:
    """Sentences copied from the material where too few of the model's survived: a bible
    entry's own sentences in order (cited), the top pitches (credited) and then the room's
    decisions, or the opening sentences of the writer's text. Each is shown in quotes, as a
    copy."""
    have = [s.text for s in kept]
    extra: list[SynopsisSentence] = []
    pool: list[tuple[str, list[Citation], list[PitchCredit]]]
    if m.kind in _KINDS:
        pool = [
            (s, [citation(c)], [])
            for c in m.canon
            for s in sentences(" ".join(c.text.split()))
            if len(words(s)) >= MIN_WORDS
        ]
    elif m.kind == "thread":
        pool = [(p.text, [], [PitchCredit(number=p.id, author=p.author)]) for p in m.pitches]
        pool += [(d, [], []) for d in m.floor]
    else:
        pool = [(s, [], []) for s in m.floor if len(words(s)) >= MIN_WORDS]
    for text, sources, pitches in pool:
        if len(kept) + len(extra) >= least:
            break
        if _said_already(text, have) or any(contains(norm(text), norm(h)) for h in have):
            continue  # the model said it already, or said part of it
        have.append(text)
        extra.append(SynopsisSentence(text=text, sources=sources, pitches=pitches, quoted=True))
    return extra


def _credits(said: Sequence[SynopsisSentence]) -> list[Credit]:
    """Each writer whose pitches the synopsis uses, in the order they come up."""
    by_author: dict[str, list[int]] = {}
    for s in said:
        for p in s.pitches:
            numbers = by_author.setdefault(p.author, [])
            if p.number not in numbers:
                numbers.append(p.number)
    return [Credit(author=a, pitches=sorted(n)) for a, n in by_author.items()]


# ---- the command ---------------------------------------------------------------------------
async def synopsis(call: Call, target: str, length: str) -> Synopsis:
    services = call.services
    least, most = SYNOPSIS_LENGTHS[length]
    chars = services.config.max_field_chars
    allowance = token_allowance(most, chars + SENTENCE_JSON, overhead=OUTPUT_OVERHEAD)
    m = await asyncio.to_thread(resolve, call, target)
    prompts, backend = services.prompts, services.backend
    room = (
        backend.n_ctx
        - allowance
        - TEMPLATE_OVERHEAD
        - backend.count_tokens(_instructions(services, m.kind))
    )
    if m.kind == "thread":
        assert call.brainstorm is not None
        await _thread(call, m, call.brainstorm, room)
    elif m.kind == "text":
        await _text(call, m, " ".join(target.split()), room, length)
    else:
        _with_canon(services, m, m.canon, room)
        m.material = prompts.render("synopsis_entry", kind=m.kind, name=m.name)
    if not m.canon and m.kind in _KINDS:
        raise BadRequest(f"{m.target} is too long to summarise here. Nothing was saved.")
    s_labels = [f"S{i}" for i in range(1, len(m.canon) + 1)]
    p_labels = [f"P{i}" for i in range(1, len(m.pitches) + 1)]
    sections = dict(zip(s_labels, (citation(c) for c in m.canon), strict=True))
    pitches = dict(zip(p_labels, m.pitches, strict=True))
    prompt = prompts.render(
        "synopsis",
        show=call.show,
        length=LENGTH_LABELS[length],
        canon=_excerpts(services, m.canon),
        material=m.material,
    )

    def build(data: dict[str, Any]) -> Synopsis:
        said = [
            SynopsisSentence(
                text=s["text"],
                sources=unique(sections[x] for x in s["sources"] if x in sections),
                pitches=[
                    PitchCredit(number=pitches[x].id, author=pitches[x].author)
                    for x in dict.fromkeys(s["sources"])
                    if x in pitches
                ],
            )
            for s in data["sentences"]
        ]
        return Synopsis(target=m.target, target_kind=m.kind, length=length, sentences=said)

    draft = await services.produce(
        StructuredRequest(
            what="synopsis",
            messages=({"role": "user", "content": prompt},),
            schema=synopsis_schema(least, most, [*s_labels, *p_labels], chars, m.cite_least),
            build=build,
            lane=call.event.lane,
            max_tokens=allowance,
            temperature=SYNOPSIS_TEMPERATURE,
        )
    )
    kept = await asyncio.to_thread(_checked, services, m, draft, chars)
    said = kept + _floor(m, kept, least)
    if not said:
        raise StructuredOutputError(
            "Nothing the model wrote for that synopsis held up against the material, and "
            "there was nothing to quote instead. Nothing was saved. Try again, or a longer "
            "text."
        )
    body = " ".join(s.text for s in said)
    if m.episode is not None:  # what the synopsis says happens, happens in that episode
        body = f"In {m.episode.code}: {body}"
    flags = await asyncio.to_thread(flag_lines, services.bible, call.show, body, call.as_of)
    return Synopsis(
        target=m.target,
        target_kind=m.kind,
        length=length,
        sentences=said,
        sources=unique(c for s in said for c in s.sources),
        credits=_credits(said),
        continuity=flags,
    )


async def run(call: Call) -> Reply:
    result = await synopsis(call, call.arg("target").strip(), call.arg("length"))
    return Reply(
        kind="synopsis", text=render.synopsis(result), result=result, citations=result.sources
    )


ADDRESSED_WORDS = 4  # '@bot synopsis Undertow logline' is a command; longer may be a question


def said_as_command(text: str) -> bool:
    """'@bot synopsis thread', '@bot synopsis S1E04 page' or a short name are the command;
    '@bot synopsis is weak here, thoughts?' is a question about it."""
    text = text.strip()
    if not text or text.endswith("?"):
        return False
    return (
        norm(text.split(" ")[0]) in THREAD
        or norm(text) in THREAD
        or (len(text.split()) <= ADDRESSED_WORDS)
    )


SPEC = register(
    CommandSpec(
        "synopsis",
        "Summarise an episode, an arc, this brainstorm thread or your text; canon is cited "
        "and pitches are credited to the writers who made them.",
        (
            Param(
                "target",
                "An episode (S1E04, 104, 'episode 4' or its title), an arc, 'thread' in a "
                f"brainstorm, or your own text (more than {NAME_WORDS} words).",
                rest=True,
                complete="episodes",  # offered where the platform completes; any text goes
                reads_file=True,
            ),
            Param(
                "length",
                "logline (one sentence), paragraph (3-5) or page (8-12); put it last.",
                False,
                tuple(SYNOPSIS_LENGTHS),
                default="paragraph",
            ),
        ),
        ("synopsis S1E04", "synopsis Undertow logline", "synopsis thread page"),
        handler=run,
        result=Synopsis,
        prompt="synopsis",
        slow=True,
        records=True,
        addressable=True,  # '@bot synopsis thread': Slack has no slash commands in threads
        addressed_if=said_as_command,
    )
)
