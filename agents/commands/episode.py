"""`episode S1E07`: the episode this thread (or channel) is breaking. From then on answers,
beats, cards, brainstorms and continuity checks use canon as of that episode, so writers on
an early episode are not handed its later reveals."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel

from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.errors import BadRequest
from agents.messages import Reply

CLEAR = ("off", "none", "clear")
FOLLOW = "channel"  # in a thread: follow the channel's episode again


Scope = Literal["thread", "channel"]


class EpisodeSetting(BaseModel):
    episode: str | None
    scope: Scope
    beyond_bible: bool = False  # later than any episode the bible knows


def _scope(call: Call) -> tuple[Scope, str]:
    """A thread sets its own episode; a command from the channel sets the channel's."""
    event = call.event
    return ("thread", event.thread) if event.in_thread else ("channel", "")


def _store(call: Call, thread: str, value: str | None) -> str | None:
    """Write the setting ("" opts a thread out, None removes it); the episode now in force."""
    event, state = call.event, call.services.state
    where = (event.platform, event.workspace, event.channel, thread)
    state.set_episode(*where, value, event.author_id or event.author)
    return state.episode(*where)


def _reply(text: str, episode: str | None, scope: Scope, beyond: bool = False) -> Reply:
    result = EpisodeSetting(episode=episode, scope=scope, beyond_bible=beyond)
    return Reply(kind="episode", text=text, result=result, as_of=episode)


async def run(call: Call) -> Reply:
    services, event = call.services, call.event
    scope, thread = _scope(call)
    code = (call.args.get("code") or "").strip()
    if event.as_of and code:
        raise BadRequest(
            f"This session reasons as of {event.as_of} (--as-of), which wins over any episode "
            "setting. Start it without --as-of to set one. Nothing was changed."
        )
    if not code:
        current = call.as_of.code if call.as_of else None
        text = (
            f"This {scope} is breaking {current}: canon revealed after it is hidden."
            if current
            else f"No episode is set here, so the whole bible is canon. Set one with: "
            f"{event.prefix}episode S1E03"
        )
        return _reply(text, current, scope)
    if code.lower() == FOLLOW and scope == "thread":
        now = await asyncio.to_thread(_store, call, thread, None)
        return _reply(
            f"This thread follows the channel's episode again ({now or 'none set'}).", now, scope
        )
    if code.lower() in CLEAR:
        # A thread opts out explicitly, so its channel's episode does not apply either.
        await asyncio.to_thread(_store, call, thread, "" if scope == "thread" else None)
        return _reply(
            f"Episode cleared for this {scope}: the whole bible is canon here.", None, scope
        )
    episode = services.episode(call.show, code)
    latest = services.bible.latest_episode(call.show)
    beyond = latest is not None and episode > latest
    await asyncio.to_thread(_store, call, thread, episode.code)
    text = f"This {scope} is now breaking {episode.code}: canon revealed after it is hidden."
    if beyond:
        text += (
            f" Note: the bible knows episodes up to {latest}, so all of it is canon here; "
            "add the new episode's file to the bible when it is written."
        )
    return _reply(text, episode.code, scope, beyond)


SPEC = register(
    CommandSpec(
        "episode",
        "Set the episode this thread is breaking; canon revealed later is hidden.",
        (
            Param(
                "code",
                "An episode like S1E07, 107 or 'episode 7'; 'off' clears it ('channel', in a "
                "thread, follows the channel's again); empty shows it.",
                required=False,
                rest=True,
            ),
        ),
        ("episode S1E03", "episode off"),
        handler=run,
        result=EpisodeSetting,
        notes_as_of=False,  # its reply says the episode itself
    )
)
