"""`continuity TEXT`, `continuity pitch N`, `continuity beats`: check against canon.

Deterministic checks on the bible's dated facts come first and are certain; the rest of
each claim goes to the model with the nearest canon, and only a contradiction the cited
canon bears out is flagged. As of the thread's episode when one is set.
"""

from __future__ import annotations

import asyncio
import re

from agents import render
from agents.canon import unique
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.continuity.report import ContinuityReport
from agents.continuity.run import check_text
from agents.errors import BadRequest
from agents.messages import Reply

_PITCH = re.compile(r"^pitch\s+#?(\S+)$", re.I)
# What history keeps of a beat sheet is its rendered text; check what happens, not labels.
_NOT_STORY = re.compile(
    r"\[[^\]]*\]|\(with [^)]*\)|^\S*(?:Beat sheet \(|As of |Continuity|- Continuity).*$", re.M
)
BEATS_ASKED = ("/beats", "/wrap beats")
HISTORY_TURNS = 200


def _pitch_text(call: Call, number: int) -> str:
    pitches = call.services.ledger.pitches
    pitch = pitches.by_id(number)
    if pitch is None or pitches.show_of(pitch.brainstorm_id) != call.show:
        raise BadRequest(
            f"There is no pitch #{number} for {call.show}. Pitch numbers are in each pitch's "
            "acknowledgement. Nothing was checked."
        )
    return pitch.text


def _latest_beats(call: Call) -> str:
    """The newest beat sheet the bot wrote in this conversation."""
    turns = call.services.history.turns(call.event.key, call.show)[-HISTORY_TURNS:]
    for asked, answer in zip(reversed(turns[:-1]), reversed(turns[1:]), strict=True):
        wrote = asked.role == "writer" and answer.role == "assistant"
        if wrote and asked.text.lower().startswith(BEATS_ASKED):
            sheet = answer.text[max(0, answer.text.find("Beat sheet (")) :]  # not a wrap's rest
            return _NOT_STORY.sub("", sheet)
    raise BadRequest(
        f"There is no beat sheet in this thread yet. Make one with {call.event.prefix}beats "
        f"PREMISE, or check text directly: {call.event.prefix}continuity TEXT"
    )


async def run(call: Call) -> Reply:
    said = call.arg("text").strip()
    pitch = _PITCH.match(said)
    if pitch:
        if not pitch.group(1).isdigit():
            raise BadRequest(
                f"'{pitch.group(1)}' is not a pitch number. Try: {call.event.prefix}continuity "
                "pitch 3"
            )
        target = f"pitch #{pitch.group(1)}"
        text = await asyncio.to_thread(_pitch_text, call, int(pitch.group(1)))
    elif said.lower() == "beats":
        target, text = "the latest beat sheet", await asyncio.to_thread(_latest_beats, call)
    else:
        target, text = "your text", said
    report = await check_text(call.services, call.show, text, call.as_of, target, call.event.lane)
    if not report.checked:
        raise BadRequest(
            "I found no sentence to check there. Write the pitch or scene as sentences, like: "
            f"{call.event.prefix}continuity In episode 6 Toby takes the wheel."
        )
    citations = [s for f in report.flags for s in f.sources]
    return Reply(
        kind="continuity",
        text=render.continuity(report),
        result=report,
        citations=unique(citations),
    )


SPEC = register(
    CommandSpec(
        "continuity",
        "Check a pitch, scene or beat sheet against canon; flags cite the bible.",
        (
            Param(
                "text",
                "The text to check, or 'pitch N', or 'beats' for the thread's latest sheet.",
                rest=True,
                reads_file=True,
            ),
        ),
        ("continuity In episode 6 Toby takes the wheel.", "continuity pitch 3", "continuity beats"),
        handler=run,
        result=ContinuityReport,
        prompt="continuity_verdict",
        slow=True,
    )
)
