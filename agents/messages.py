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

ReplyKind = Literal["answer", "loglines", "beats", "character", "search", "help", "error", "noted"]


class IncomingMessage(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    platform: str
    workspace: str
    channel: str
    thread: str
    author: str
    text: str
    mentions_bot: bool = False
    raw: Any = Field(default=None, exclude=True, repr=False)

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
class Final:
    reply: Reply


Event = Delta | Final
