"""Brainstorm threads, the parts every brainstorm command shares: recording what the room
says, finding the thread, quoting it to the model, and the pure rules for pitches, votes,
decisions and questions.

The model writes only the provocations, the riffs and the summary. Who said what, which
pitch leads, what was decided and what is still open all come from the ledger, so a wrap-up
cannot misattribute an idea or invent a decision.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agents.errors import BadRequest, ContextOverflow
from agents.llm.base import ModelBackend
from agents.messages import Message, Reply, RoomEvent
from agents.prompts import Prompts
from agents.schemas import Attributed, PitchResult
from memory.ledger import Brainstorm, Ledger, LedgerMessage, Pitch

_PITCH = re.compile(r"^\s*pitch\s*:\s*", re.IGNORECASE)
DECISION = re.compile(r"^\s*(?:decision|decided|we decided)\s*:\s*", re.IGNORECASE)
_QUESTION = re.compile(r"^\s*(?:question|open question|q)\s*:\s*", re.IGNORECASE)
_PITCH_REF = re.compile(r"#(\d+)")
TEMPLATE_OVERHEAD = 48  # chat-template tokens for a system and a user message, overestimated
MESSAGE_CHARS = 1200  # one message's share of a transcript

# Reactions that say no: everything else on a pitch is a vote for it.
NOT_VOTES = frozenset(
    {"-1", "thumbsdown", "x", "no_entry", "no_entry_sign", "👎", "❌", "🚫", "⛔"}
)


def counts_as_vote(token: str) -> bool:
    """A reaction on a pitch is a vote unless it says no. Adapters give the reaction's base
    name or the emoji itself (no platform modifiers such as Slack's skin tones)."""
    return token not in NOT_VOTES


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


def one_line(text: str, limit: int | None = None) -> str:
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


def pitch_reply(pitch: Pitch, what: str) -> Reply:
    return Reply(
        kind="pitch",
        text=(
            f"Pitch #{pitch.id} from {pitch.author} {what}: “{one_line(pitch.text, 120)}”. "
            f"Vote with a reaction on it, or: vote {pitch.id}"
        ),
        result=pitch_result(pitch),
    )


def record(ledger: Ledger, event: RoomEvent, text: str, bs: Brainstorm, kind: str) -> Reply | None:
    """Keep a writer's message; a 'pitch:' message also becomes a pitch (acknowledged)."""
    text = text.strip()
    idea = pitch_text(text) if kind in ("chat", "ask") else None
    pitch = ledger.log.record(
        bs,
        event.actor,
        text,
        kind="pitch" if idea else kind,
        message_ref=event.message_id,
        pitch=idea,
    )
    return None if pitch is None else pitch_reply(pitch, "is in the ledger")


def message_kind(event: RoomEvent, is_command: bool) -> str:
    if is_command:
        return "command"
    return "ask" if isinstance(event, Message) and event.mentions_bot else "chat"


def transcript(
    prompts: Prompts, backend: ModelBackend, messages: Sequence[LedgerMessage], budget: int
) -> str:
    """The newest messages that fit the token budget, oldest first, quoted as data."""
    if budget <= 0:
        raise ContextOverflow(backend.n_ctx - budget, backend.n_ctx)
    lines: list[str] = []
    used = 0
    for m in reversed(messages):
        tag = " (pitch)" if m.kind == "pitch" else " (bot)" if m.kind == "bot" else ""
        line = prompts.render(
            "room_line", author=m.author, tag=tag, text=one_line(m.text, MESSAGE_CHARS)
        ).rstrip("\n")
        cost = backend.count_tokens(line) + 1
        if used + cost > budget:
            break
        used += cost
        lines.append(line)
    lines.reverse()
    return "\n".join(lines) if lines else "> (nothing yet)"
