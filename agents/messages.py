"""Neutral message and reply types: what adapters translate to and from.

No platform syntax here. ``raw`` carries the platform's own event for the adapter that made
it; the core never reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.schemas import Citation
from memory.history import ConversationKey
from memory.ledger import Actor

ReplyKind = Literal[
    "answer",
    "loglines",
    "beats",
    "character",
    "search",
    "help",
    "error",
    "noted",
    "brainstorm",
    "pitch",
    "riff",
    "vote",
    "wrap",
    "canon",
]


class IncomingMessage(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    platform: str
    workspace: str
    channel: str
    thread: str
    author: str
    text: str
    mentions_bot: bool = False
    # A message in a thread the bot is part of that does not address it. Outside brainstorms
    # the bot answers these (the thread is a conversation with it); in brainstorms it listens.
    in_bot_thread: bool = False
    author_id: str = ""  # stable platform ID; votes and permissions go by it, not the name
    message_id: str = ""  # the platform's reference to this message (what reactions point at)
    link: str = ""  # a link to the thread, for provenance
    # Set by the adapter from its configured user or role IDs; the core never guesses.
    may_edit_canon: bool = False
    raw: Any = Field(default=None, exclude=True, repr=False)

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


class Reply(BaseModel):
    """A finished reply. ``text`` is neutral Markdown-ish text; ``data`` the structured result."""

    kind: ReplyKind
    text: str
    data: dict[str, Any] | None = None
    citations: list[Citation] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.kind != "error"


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


Event = Working | Delta | Final
