"""Brainstorm threads: open one with canon and provocations, keep every message and pitch,
riff on the room's ideas, count votes, and wrap up what the room decided.

The model writes only the provocations, the riffs and the summary. Who said what, which
pitch leads, what was decided and what is still open all come from the ledger, so a wrap-up
cannot misattribute an idea or invent a decision.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from agents.backend import ModelBackend
from agents.canon import citation, excerpt_block, unique
from agents.chat_model import LocalChatModel
from agents.errors import BadRequest, ContextOverflow
from agents.extract import Extractor, compose
from agents.messages import Delta, Event, Final, IncomingMessage, Reply, Working
from agents.prompts import Prompts
from agents.render import brainstorm_opening, sources_line, wrap_up
from agents.schemas import (
    Attributed,
    BeatSheet,
    BrainstormOpening,
    Citation,
    PitchResult,
    Provocation,
    Summary,
    WrapUp,
    provocations_schema,
    summary_schema,
)
from agents.structured import StructuredGenerator, token_allowance
from agents.text import words
from agents.verify import verify
from memory.bible import BibleStore
from memory.bible_parse import Chunk
from memory.ledger import Actor, AlreadyBrainstorm, Brainstorm, Ledger, LedgerMessage, Pitch

log = logging.getLogger(__name__)
_PITCH = re.compile(r"^\s*pitch\s*:\s*", re.IGNORECASE)
_DECISION = re.compile(r"^\s*(?:decision|decided|we decided)\s*:\s*", re.IGNORECASE)
_QUESTION = re.compile(r"^\s*(?:question|open question|q)\s*:\s*", re.IGNORECASE)
_PITCH_REF = re.compile(r"#(\d+)")
TEMPLATE_OVERHEAD = 48  # chat-template tokens for a system and a user message, overestimated
PROVOCATION_MIN_WORDS = 3

BeatSheetFn = Callable[[str, str, str, str], Awaitable[BeatSheet]]


@dataclass(frozen=True)
class BrainstormConfig:
    provocations: int = 3
    topic_canon: int = 4
    riff_canon: int = 2
    max_tokens: int = 400
    temperature: float = 0.9
    max_field_chars: int = 240
    summary_chars: int = 480
    transcript_token_budget: int = 3000
    top_pitches: int = 5
    deadline_s: float | None = None


# Reactions that say no: everything else on a pitch is a vote for it.
NOT_VOTES = frozenset(
    {"-1", "thumbsdown", "x", "no_entry", "no_entry_sign", "👎", "❌", "🚫", "⛔"}
)


def counts_as_vote(token: str) -> bool:
    """Slack names a reaction ('+1', '-1::skin-tone-2'), Discord gives the emoji itself."""
    base = token.split("::", 1)[0].strip(":")
    return base not in NOT_VOTES


def pitch_text(text: str) -> str | None:
    """'pitch: Maren sells the bell' -> 'Maren sells the bell'; None when not a pitch."""
    if not _PITCH.match(text):
        return None
    body = _PITCH.sub("", text, count=1).strip()
    return body or None


def marked(messages: Sequence[LedgerMessage], pattern: re.Pattern[str]) -> list[Attributed]:
    """Room messages that start with a marker like 'decision:' or 'question:'."""
    return [
        Attributed(author=m.author, text=pattern.sub("", m.text, count=1).strip())
        for m in messages
        if m.kind == "chat" and pattern.match(m.text) and pattern.sub("", m.text, count=1).strip()
    ]


def open_questions(messages: Sequence[LedgerMessage]) -> list[Attributed]:
    """Questions the room marked, and questions writers asked each other (not the bot)."""
    asked = marked(messages, _QUESTION)
    asked += [
        Attributed(author=m.author, text=m.text.strip())
        for m in messages
        if m.kind == "chat" and m.text.strip().endswith("?") and not _QUESTION.match(m.text)
    ]
    return asked


def ranked(pitches: Sequence[Pitch]) -> list[Pitch]:
    """Most votes first; among equals, the earlier pitch."""
    return sorted(pitches, key=lambda p: (-p.votes, p.id))


def pitch_result(p: Pitch) -> PitchResult:
    return PitchResult(
        number=p.id, author=p.author, text=p.text, votes=p.votes, voters=list(p.voters)
    )


def _one_line(text: str, limit: int | None = None) -> str:
    flat = " ".join(text.split())
    if limit is not None and len(flat) > limit:
        return flat[: limit - 1] + "…"
    return flat


@dataclass(frozen=True)
class Target:
    """The idea a riff builds on, and how the reply credits it."""

    credit: str  # "dana's pitch #2"
    text: str


def riff_target(
    bs: Brainstorm,
    messages: Sequence[LedgerMessage],
    pitches: Sequence[Pitch],
    asker: str,
    pitch_no: int | None,
    ask: str,
) -> Target:
    """Pitch N if named (as an argument or '#N' in the ask), else the newest pitch, else the
    newest thing another writer said, else the topic itself."""
    wanted = pitch_no
    if wanted is None:
        ref = _PITCH_REF.search(ask)
        wanted = int(ref.group(1)) if ref else None
    by_id = {p.id: p for p in pitches}
    if wanted is not None:
        if wanted not in by_id:
            numbers = ", ".join(f"#{n}" for n in by_id) or "none yet"
            raise BadRequest(f"There is no pitch #{wanted} in this thread (pitches: {numbers}).")
        chosen = by_id[wanted]
        return Target(f"{chosen.author}'s pitch #{chosen.id}", chosen.text)
    if pitches:
        latest = pitches[-1]
        return Target(f"{latest.author}'s pitch #{latest.id}", latest.text)
    said = [m for m in messages if m.kind == "chat" and m.author_id != asker]
    said = said or [m for m in messages if m.kind == "chat"]
    if said:
        return Target(f"{said[-1].author}'s idea", said[-1].text)
    return Target(f"the topic {bs.opened_by} opened", bs.topic)


class Brainstorms:
    def __init__(
        self,
        *,
        engine: ModelBackend,
        bible: BibleStore,
        ledger: Ledger,
        prompts: Prompts,
        structured: StructuredGenerator,
        relevant: Callable[[str, str, int], Awaitable[list[Chunk]]],
        config: BrainstormConfig,
        extractor: Extractor,
    ) -> None:
        self._extractor = extractor
        self._engine = engine
        self._bible = bible
        self.ledger = ledger
        self._prompts = prompts
        self._structured = structured
        self._relevant = relevant
        self._config = config

    def thread(self, msg: IncomingMessage) -> Brainstorm | None:
        return self.ledger.brainstorm(msg.key)

    def require(self, msg: IncomingMessage, command: str) -> Brainstorm:
        found = self.ledger.brainstorm(msg.key)
        if found is None:
            raise BadRequest(
                f"'{command}' works inside a brainstorm thread. Start one with: brainstorm TOPIC"
            )
        return found

    # ---- opening ----------------------------------------------------------------------------
    async def open(self, msg: IncomingMessage, show: str, topic: str) -> Reply:
        existing = self.ledger.brainstorm(msg.key)
        if existing is not None:
            raise BadRequest(
                f"This thread is already a brainstorm on '{existing.topic}'. Start a new one "
                "from the channel."
            )
        canon = await self._relevant(show, topic, self._config.topic_canon)
        labels = [f"S{i}" for i in range(1, len(canon) + 1)]
        by_label = {label: citation(c) for label, c in zip(labels, canon, strict=True)}
        sources = list(by_label.values())
        prompt = self._prompts.render(
            "brainstorm_open",
            show=show,
            topic=topic,
            n=self._config.provocations,
            canon=excerpt_block(self._prompts, canon, [f"[{label}]" for label in labels]),
        )
        chars = self._config.max_field_chars

        def build(data: dict[str, Any]) -> BrainstormOpening:
            return BrainstormOpening(
                topic=topic,
                canon=sources,
                canon_found=bool(canon),
                provocations=[
                    Provocation(
                        text=p["text"],
                        sources=unique(by_label[s] for s in p["sources"] if s in by_label),
                    )
                    for p in data["provocations"]
                ],
            )

        opening = await self._structured.generate(
            what="set of provocations",
            messages=[{"role": "user", "content": prompt}],
            schema=provocations_schema(self._config.provocations, labels, chars),
            build=build,
            lane=msg.lane,
            max_tokens=token_allowance(self._config.provocations * 2, chars),
            temperature=self._config.temperature,
        )
        opening = await self._checked_opening(opening, canon)
        text = brainstorm_opening(opening, show)
        try:
            bs = self.ledger.open_brainstorm(
                msg.key,
                show,
                topic,
                msg.actor,
                link=msg.link,
                canon_ids=[c.id for c in canon],
            )
        except AlreadyBrainstorm:  # two openings raced; the first one stands
            raise BadRequest(
                "This thread became a brainstorm a moment ago; carry on in it."
            ) from None
        self.ledger.record(bs, msg.actor, text, kind="bot")
        return Reply(kind="brainstorm", text=text, data=opening.model_dump(), citations=sources)

    async def _checked_opening(
        self, opening: BrainstormOpening, canon: list[Chunk]
    ) -> BrainstormOpening:
        """Provocations that quote what is not in the bible or repeat the prompt are dropped;
        the bible's own sentences, cited, take the places they leave."""
        instructions = self._prompts.render("brainstorm_open", show="", topic="", n="", canon="")
        kept: list[Provocation] = []
        for item in opening.provocations:
            checked = verify(item.text, canon, instructions, [opening.topic])
            if len(words(checked.text)) >= PROVOCATION_MIN_WORDS:
                kept.append(item.model_copy(update={"text": checked.text}))
            else:
                log.info("provocation dropped by verification: %s", checked.removed)
        missing = self._config.provocations - len(kept)
        if missing > 0 and canon:
            picked = await asyncio.to_thread(
                self._extractor.pick, opening.topic, canon, self._config.provocations
            )
            kept += [
                Provocation(
                    text=f"Where does the topic meet this? “{p.sentence}”", sources=[p.citation]
                )
                for p in picked
                if all(p.sentence not in k.text for k in kept)
            ][:missing]
        return opening.model_copy(update={"provocations": kept})

    # ---- the room's messages ---------------------------------------------------------------
    def record(self, msg: IncomingMessage, bs: Brainstorm, kind: str) -> Reply | None:
        """Keep a writer's message; a 'pitch:' message also becomes a pitch (acknowledged)."""
        text = msg.text.strip()
        idea = pitch_text(text) if kind in ("chat", "ask") else None
        pitch = self.ledger.record(
            bs,
            msg.actor,
            text,
            kind="pitch" if idea else kind,
            message_ref=msg.message_id,
            pitch=idea,
        )
        return None if pitch is None else self._pitch_reply(pitch, "is in the ledger")

    def capture(self, msg: IncomingMessage, bs: Brainstorm) -> Reply:
        """The newest thing a writer said to the room becomes a pitch, credited to them."""
        said = [m for m in self.ledger.messages(bs.id) if m.kind == "chat"]
        if not said:
            raise BadRequest("Nothing said in this thread yet to capture. Pitch with: pitch: …")
        last = said[-1]
        pitch = self.ledger.record(
            bs, Actor(last.author_id, last.author), last.text, kind="pitch", pitch=last.text
        )
        assert pitch is not None
        return self._pitch_reply(pitch, f"captured for {msg.author}")

    @staticmethod
    def _pitch_reply(pitch: Pitch, what: str) -> Reply:
        return Reply(
            kind="pitch",
            text=(
                f"Pitch #{pitch.id} from {pitch.author} {what}: “{_one_line(pitch.text, 120)}”. "
                f"Vote with a reaction on it, or: vote {pitch.id}"
            ),
            data=pitch_result(pitch).model_dump(),
        )

    def vote(self, msg: IncomingMessage, show: str, number: int, add: bool) -> Reply:
        pitch = self.ledger.pitch(number)
        if pitch is None or self.ledger.show_of(pitch.brainstorm_id) != show:
            raise BadRequest(f"There is no pitch #{number} for {show}.")
        changed = (
            self.ledger.vote(pitch, msg.actor)
            if add
            else self.ledger.unvote(pitch, msg.actor, token=None)
        )
        now = self.ledger.pitch(number)
        assert now is not None
        if add:
            said = "Vote counted" if changed else "You had already voted for it"
        else:
            said = "Vote taken back" if changed else "You had not voted for it"
        plural = "" if now.votes == 1 else "s"
        return Reply(
            kind="vote",
            text=f"{said}: pitch #{now.id} ({now.author}) has {now.votes} vote{plural}.",
            data=pitch_result(now).model_dump(),
        )

    # ---- riffs ------------------------------------------------------------------------------
    async def riff(
        self, msg: IncomingMessage, bs: Brainstorm, pitch_no: int | None, ask: str
    ) -> AsyncIterator[Event]:
        messages = self.ledger.messages(bs.id)
        pitches = self.ledger.pitches(bs.id)
        target = riff_target(bs, messages, pitches, msg.actor.id, pitch_no, ask)
        yield Working()
        topic_canon = [c for c in (self._bible.chunk(bs.show, i) for i in bs.canon_ids) if c]
        fresh = [
            c
            for c in await self._relevant(bs.show, f"{ask} {target.text}", 5)
            if c not in topic_canon
        ][: self._config.riff_canon]
        canon = topic_canon + fresh
        system = self._prompts.render("brainstorm_system", show=bs.show, topic=bs.topic)
        block = excerpt_block(self._prompts, canon, [c.citation for c in canon])
        build_on = f"{target.credit}: “{_one_line(target.text)}”"

        def user_turn(transcript: str) -> str:
            return self._prompts.render(
                "brainstorm_riff",
                canon=block,
                transcript=transcript,
                build_on=build_on,
                author=msg.author,
                ask=ask,
            )

        count = self._engine.count_tokens
        fixed = count(system) + count(user_turn("")) + self._config.max_tokens + TEMPLATE_OVERHEAD
        transcript = self.transcript(messages, self._engine.n_ctx - fixed)
        model = LocalChatModel(
            engine=self._engine,
            lane=msg.lane,
            max_tokens=self._config.max_tokens,
            temperature=self._config.temperature,
            deadline_s=self._config.deadline_s,
        )
        credit = f"Building on {target.credit}: “{_one_line(target.text, 160)}”\n\n"
        yield Delta(credit)
        parts: list[str] = []
        async for chunk in model.astream(
            [SystemMessage(content=system), HumanMessage(content=user_turn(transcript))]
        ):
            if chunk.text:
                parts.append(chunk.text)
                yield Delta(chunk.text)
        said = [m.text for m in messages] + [ask, target.text]
        checked = verify("".join(parts), canon, system + "\n" + user_turn(""), said)
        citations: list[Citation] = checked.citations
        if checked.thin:  # nothing usable survived: the bible's own sentences instead
            picked = await asyncio.to_thread(self._extractor.pick, f"{ask} {target.text}", canon, 2)
            body = compose(picked) or "The bible has nothing to add here; over to the room."
            citations = unique(p.citation for p in picked)
        else:
            body = checked.text
            if not citations:
                citations = unique(citation(c) for c in canon[:3])
                body += "\n\n" + sources_line(citations) if citations else ""
        text = credit + body
        await asyncio.to_thread(self.ledger.record, bs, msg.actor, text, kind="bot")
        yield Final(
            Reply(kind="riff", text=text, citations=citations, data={"builds_on": target.credit})
        )

    def transcript(self, messages: Sequence[LedgerMessage], budget: int) -> str:
        """The newest messages that fit the token budget, oldest first, quoted as data."""
        budget = min(budget, self._config.transcript_token_budget)
        if budget <= 0:
            raise ContextOverflow(self._engine.n_ctx - budget, self._engine.n_ctx)
        lines: list[str] = []
        used = 0
        for m in reversed(messages):
            tag = " (pitch)" if m.kind == "pitch" else " (bot)" if m.kind == "bot" else ""
            line = self._prompts.render(
                "room_line", author=m.author, tag=tag, text=_one_line(m.text, 1200)
            ).rstrip("\n")
            cost = self._engine.count_tokens(line) + 1
            if used + cost > budget:
                break
            used += cost
            lines.append(line)
        lines.reverse()
        return "\n".join(lines) if lines else "> (nothing yet)"

    # ---- wrap-up ----------------------------------------------------------------------------
    def _checked_summary(self, summary: str, bs: Brainstorm, room: Sequence[LedgerMessage]) -> str:
        """The model's summary line if it survives verification, else one written from the
        ledger's counts."""
        instructions = self._prompts.render("wrap_summary", show="", topic="", transcript="")
        checked = verify(summary, [], instructions, [bs.topic, *(m.text for m in room)])
        if not checked.thin:
            return checked.text
        pitches = sum(1 for m in room if m.kind == "pitch")
        writers = len({m.author_id for m in room})
        return (
            f"The room talked about {bs.topic}: {len(room)} messages from {writers} "
            f"writer{'s' if writers != 1 else ''}, {pitches} pitch{'es' if pitches != 1 else ''}."
        )

    async def wrap(
        self,
        msg: IncomingMessage,
        bs: Brainstorm,
        *,
        beats: bool,
        structure: str,
        beat_sheet: BeatSheetFn,
    ) -> Reply:
        messages = self.ledger.messages(bs.id)
        top = ranked(self.ledger.pitches(bs.id))[: self._config.top_pitches]
        accepted = [p for p in top if p.votes > 0]
        if beats and not accepted:
            raise BadRequest(
                "A beat sheet is built from the pitches the room voted for, and no pitch has a "
                "vote yet. Vote first (a reaction, or: vote N), then: wrap beats"
            )
        chars = self._config.summary_chars
        room = [m for m in messages if m.kind != "bot"]
        prompt = self._prompts.render(
            "wrap_summary",
            show=bs.show,
            topic=bs.topic,
            transcript=self.transcript(room, self._engine.n_ctx - 600),
        )
        summary = await self._structured.generate(
            what="summary",
            messages=[{"role": "user", "content": prompt}],
            schema=summary_schema(chars),
            build=lambda d: Summary(**d),
            lane=msg.lane,
            max_tokens=token_allowance(1, chars),
            temperature=0.3,
        )
        summary_text = self._checked_summary(summary.summary, bs, room)
        sheet = None
        if beats:
            premise = f"{bs.topic}. The room's pitches: " + "; ".join(
                f"{_one_line(p.text, 200)} ({p.author})" for p in accepted
            )
            sheet = await beat_sheet(bs.show, premise, structure, msg.lane)
        result = WrapUp(
            topic=bs.topic,
            summary=summary_text,
            decisions=marked(messages, _DECISION),
            top_pitches=[pitch_result(p) for p in top],
            open_questions=open_questions(messages),
            beat_sheet=sheet,
        )
        text = wrap_up(result)
        data = result.model_dump()
        wrap = await asyncio.to_thread(self.ledger.add_wrap, bs, msg.actor, text, data)
        await asyncio.to_thread(self.ledger.record, bs, msg.actor, text, kind="bot")
        return Reply(
            kind="wrap",
            text=text,
            data={"wrap": wrap.id, **data},
            citations=sheet.sources if sheet else [],
        )
