"""Neutral events in and out of the core: what adapters translate to and from.

One door: every platform event becomes a ``Message``, a ``Command`` or a ``Reaction`` and
goes to ``Room.handle``. Each carries where it happened and who did it, including the
author's role IDs, so the core (not the adapter) decides what the author may do. ``raw``
carries the platform's own event for the adapter that made it; the core never reads it.

Out come ``Working`` (slow work started), ``Delta`` (text still being written) and ``Final``
(the finished ``Reply``, which carries its typed result).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agents.schemas import Citation
from memory.history import ConversationKey
from memory.ledger import Actor


@runtime_checkable
class ThreadOpener(Protocol):
    """How a platform opens a thread for a brainstorm started from a channel. ``name`` is
    the core's suggestion (platforms that name threads themselves may ignore it); it returns
    the new thread's ID and a link to it. ``discard`` removes it if the opening fails."""

    def open(self, title: str, name: str) -> Awaitable[tuple[str, str]]: ...

    def discard(self, thread: str) -> Awaitable[None]: ...


class Inbound(BaseModel):
    """A file a writer attached to a message for the bot: a ``.fountain`` scene to doctor,
    a script to import. The adapter downloads it (up to the upload limit) into ``data``, or
    says in plain words in ``error`` why it could not (too big, could not be downloaded, not
    allowed); the core never downloads. ``size`` is what the platform declared."""

    name: str
    mime: str = ""
    size: int = 0
    data: bytes | None = Field(default=None, repr=False)
    error: str | None = None


class RoomEvent(BaseModel):
    """Where and by whom. ``thread`` is the conversation: a thread, a DM, or, left empty by
    the adapter (a slash command given in a channel), the writer's own command history
    there; ``in_thread`` says the platform event came from inside a thread."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    platform: str
    workspace: str
    channel: str
    thread: str = ""
    author: str
    author_id: str = ""  # stable platform ID; votes and permissions go by it, not the name
    roles: tuple[str, ...] = ()  # the author's role IDs, where the platform has roles
    in_thread: bool = False
    direct: bool = False  # a direct message: only the writer reads the reply
    message_id: str = ""  # the platform's reference to this message (what reactions point at)
    link: str = ""  # a link to the thread, for provenance
    prefix: str = "/"  # how a writer types a command here ("/wr " on Slack), for hints
    addressed_as: str = "@bot"  # how a writer says something to the bot here, for hints
    # A show the platform names itself (the terminal's --show); chat platforms leave it to
    # the channel's mapping, which the core resolves.
    show: str | None = None
    # An episode the platform names itself (the CLI's --as-of); else the thread's or the
    # channel's `episode` setting applies.
    as_of: str | None = None
    # Offered where a command given in a channel may open a thread (see ThreadOpener).
    threads: ThreadOpener | None = Field(default=None, exclude=True, repr=False)
    raw: Any = Field(default=None, exclude=True, repr=False)
    # Files attached to the message (see Inbound); a command's empty free text reads one.
    files: list[Inbound] = Field(default_factory=list)

    @model_validator(mode="after")
    def _own_conversation(self) -> RoomEvent:
        """A command from a channel, outside any thread, belongs to the writer's own history
        in that channel, so one writer's loglines never become another's context."""
        if not self.thread:
            self.thread = self.own_key.thread
        return self

    @property
    def own_key(self) -> ConversationKey:
        """The writer's own command history in this channel: where a command given outside
        any thread (Slack's `/wr scene`) keeps its result, while its reply may sit in a
        thread where the writer then asks for shots or an export."""
        thread = f"command-{self.author_id or self.author}"
        return ConversationKey(self.platform, self.workspace, self.channel, thread)

    @property
    def actor(self) -> Actor:
        return Actor(self.author_id or self.author, self.author)

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(self.platform, self.workspace, self.channel, self.thread)

    @property
    def lane(self) -> str:
        """Fairness unit for the model queue: one channel."""
        return f"{self.platform}/{self.workspace}/{self.channel}"


class Message(RoomEvent):
    text: str
    mentions_bot: bool = False
    # A message in a thread the bot is part of that does not address it. Outside brainstorms
    # the bot answers these (the thread is a conversation with it); in brainstorms it listens.
    in_bot_thread: bool = False


class Command(RoomEvent):
    """A command with arguments by name (Slack's and Discord's typed options); text
    commands ('/logline ...') arrive as a ``Message`` and are parsed by the core."""

    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class Reaction(RoomEvent):
    """A reaction added to or removed from ``message_id``. ``token`` is the platform's own
    name for it, kept as the vote's identity ('+1::skin-tone-2' on Slack, the emoji itself
    on Discord); ``meaning`` is the reaction without platform modifiers ('+1'), which decides
    whether it is a vote."""

    token: str
    meaning: str = ""
    added: bool


class Attachment(BaseModel):
    """A file that goes with a reply: a shot list's CSV, a scene's ``.fountain`` file.

    Slack uploads it into the reply's thread, Discord attaches it, the terminal writes it
    under ``$WR_DATA_DIR/exports/`` and prints the path. ``when_long`` marks a file that
    stands in for the reply's text only where that text would take more than one message:
    there the platform posts the reply's ``brief`` with the file instead of many parts."""

    name: str  # a plain file name (no folders), e.g. 'shots-s1e04.csv'
    mime: str
    data: bytes
    title: str = ""
    when_long: bool = False

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", value) or ".." in value:
            raise ValueError(f"not a plain file name: {value!r}")
        return value


class Table(BaseModel):
    """A result that is a table (a shot list). ``Reply.text`` still carries it as a
    monospaced block for platforms without tables; Slack shows a table block and the
    terminal a rich table, each under the reply's ``brief``."""

    title: str
    columns: list[str]
    rows: list[list[str]]

    @model_validator(mode="after")
    def _rectangular(self) -> Table:
        if any(len(row) != len(self.columns) for row in self.rows):
            raise ValueError("every row needs one cell per column")
        return self


class Reply(BaseModel):
    """A finished reply. ``text`` is neutral text (``**bold**`` is the only markup);
    ``result`` the typed result it renders; ``thread`` set when the core opened a new thread
    that the reply belongs in."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kind: str
    text: str
    result: BaseModel | None = None
    citations: list[Citation] = Field(default_factory=list)
    thread: str | None = None
    private: bool = False  # for the asker only, where the platform can (a command's choice)
    as_of: str | None = None  # the episode the reply reasons as of (its code), if one is set
    files: list[Attachment] = Field(default_factory=list)
    table: Table | None = None
    # A short neutral text that stands in for ``text`` where the platform shows the body
    # another way: as a table (``table``) or as a file (an attachment ``when_long``).
    brief: str | None = None

    @property
    def ok(self) -> bool:
        return self.kind != "error"

    @property
    def data(self) -> dict[str, Any] | None:
        """The result as JSON-ready data (``ask --json``)."""
        return None if self.result is None else self.result.model_dump()

    @classmethod
    def error(cls, text: str) -> Reply:
        return cls(kind="error", text=text)

    @classmethod
    def noted(cls) -> Reply:
        """The room kept the message; nothing to post."""
        return cls(kind="noted", text="")


@dataclass(frozen=True)
class Delta:
    """A piece of a reply still being generated."""

    text: str


@dataclass(frozen=True)
class Working:
    """Slow work has started: adapters may show a placeholder. Messages that are only
    recorded never send it, so the room is not spammed with empty replies."""


@dataclass(frozen=True)
class Final:
    reply: Reply


Update = Working | Delta | Final


async def final_reply(updates: AsyncIterator[Update]) -> Reply:
    """The finished reply of a stream of updates, for callers that show only the end."""
    reply = Reply.error("No reply was produced. Please try again.")
    async for update in updates:
        if isinstance(update, Final):
            reply = update.reply
    return reply
