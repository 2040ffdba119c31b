"""`show NAME`: link this channel to a show. Only the room's admins (settings) may."""

from __future__ import annotations

from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.messages import Reply
from memory.bible import InvalidShowName, show_slug

QUOTED = 60  # the most of a typed name a reply repeats: a long one hid what to do next


def quoted(name: str) -> str:
    """Enough of the typed name for the writer to recognise it, so the reply still fits one
    message with the advice after it (Discord cuts a message at 2,000 characters)."""
    name = " ".join(name.split())
    return name if len(name) <= QUOTED else name[: QUOTED - 1] + "…"


async def run(call: Call) -> Reply:
    if not call.is_admin:
        return Reply.error(
            "Only the room's admins can change which show this channel uses. Nothing changed."
        )
    bible, event = call.services.bible, call.event
    name = call.arg("name")
    try:
        show = show_slug(name)
    except InvalidShowName:
        return Reply.error(
            f"'{quoted(name)}' is not a usable show name: use 3-50 letters, digits or dashes, "
            "like lantern-line. Nothing changed."
        )
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
