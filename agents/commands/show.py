"""`show NAME`: link this channel to a show; `show NAME for @writer`: set a writer's own show,
for their DMs and unlinked channels. Only the room's admins (settings) may do either."""

from __future__ import annotations

import re

from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.messages import Reply
from memory.bible import InvalidShowName, show_slug

# "lantern-line for @dana": Slack escapes the mention as <@U123|dana>, Discord as <@123>
_FOR = re.compile(r"^(?P<show>.+?)\s+for\s+(?P<who>\S+)\s*$", re.IGNORECASE)
_MENTION = re.compile(r"^<@!?(?P<id>[A-Za-z0-9]+)(?:\|[^>]*)?>$")
QUOTED = 60  # the most of a typed name a reply repeats: a long one hid what to do next


def quoted(name: str) -> str:
    """Enough of the typed name for the writer to recognise it, so the reply still fits one
    message with the advice after it (Discord cuts a message at 2,000 characters)."""
    name = " ".join(name.split())
    return name if len(name) <= QUOTED else name[: QUOTED - 1] + "…"


# A platform's own user IDs: Slack's U…/W…, Discord's snowflakes. A bare name would be stored
# as an ID no writer has, and the admin told it worked.
_PLATFORM_ID = re.compile(r"^(?:[UW][A-Z0-9]{6,}|\d{15,21})$")


def for_writer(name: str, platform: str) -> tuple[str, str | None]:
    """The show's name and the writer it is for (their platform ID; in the terminal, their
    name), if the admin named one; the writer is '' when they cannot be told apart."""
    found = _FOR.match(name.strip())
    if found is None:
        return name, None
    who = found["who"]
    mention = _MENTION.match(who)
    if mention:
        return found["show"], mention["id"]
    if platform == "terminal" or _PLATFORM_ID.match(who):
        return found["show"], who.lstrip("@")
    return found["show"], ""


async def run(call: Call) -> Reply:
    if not call.is_admin:
        return Reply.error(
            "Only the room's admins can change which show this channel uses. Nothing changed."
        )
    bible, event = call.services.bible, call.event
    name, writer = for_writer(call.arg("name"), event.platform)
    if writer == "":
        return Reply.error(
            "Name the writer with an @mention (pick them from the list as you type), like "
            "`show lantern-line for @dana`. Nothing changed."
        )
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
    if writer is not None:
        call.services.shows.link_user(event.platform, writer, show, event.author_id)
        return Reply(
            kind="show",
            text=f"{writer} now works on {show} in their direct messages with the bot.",
        )
    call.services.shows.link(event.platform, event.workspace, event.channel, show, event.author_id)
    return Reply(kind="show", text=f"This channel now works on {show}.")


SPEC = register(
    CommandSpec(
        "show",
        "Admins only: link this channel to a show's bible, or set a writer's own show for "
        "direct messages with 'for @writer'.",
        (Param("name", "The show's name, like lantern-line.", rest=True, complete="shows"),),
        ("show lantern-line", "show lantern-line for @dana"),
        handler=run,
        needs_show=False,
        private=True,
    )
)
