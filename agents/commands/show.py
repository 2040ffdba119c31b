"""`show NAME`: link this channel to a show. Only the room's admins (settings) may."""

from __future__ import annotations

from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.messages import Reply
from memory.bible import show_slug


async def run(call: Call) -> Reply:
    if not call.is_admin:
        return Reply.error(
            "Only the room's admins can change which show this channel uses. Nothing changed."
        )
    bible, event = call.services.bible, call.event
    show = show_slug(call.arg("name"))
    if not bible.has_show(show):
        known = ", ".join(bible.shows()) or "none yet"
        return Reply.error(
            f"There is no bible for '{show}' (known shows: {known}). Nothing changed."
        )
    call.services.shows.link(event.platform, event.workspace, event.channel, show, event.author_id)
    return Reply(kind="show", text=f"This channel now works on {show}.")


SPEC = register(
    CommandSpec(
        "show",
        "Admins only: link this channel to a show's bible.",
        (Param("name", "The show's name, like lantern-line.", rest=True, complete="shows"),),
        ("show lantern-line",),
        handler=run,
        needs_show=False,
        private=True,
    )
)
