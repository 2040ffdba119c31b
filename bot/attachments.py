"""What a chat platform posts for a reply that carries files: the messages, and the files
sent after them. Shared by the chat adapters so that ``Attachment.when_long`` means the same
on each; each passes its own rendering and message limit.

A ``when_long`` file stands in for a reply's text only where that text would take more than
one message: there the reply's ``brief`` is posted instead of the many parts, and the file
carries the whole. Where the text fits one message it is posted as it is and the file is
left out (it would say the same again). A reply with no ``brief`` keeps its parts and the
file too, so that nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agents.messages import Attachment, Reply


@dataclass(frozen=True)
class Outgoing:
    """The messages to post (rendered, each within the platform's limit), the files to send
    after them, and whether the brief stands in for the text."""

    parts: list[str]
    files: list[Attachment]
    brief: bool = False


def outgoing(reply: Reply, parts: Callable[[str], list[str]]) -> Outgoing:
    """``reply`` as a platform posts it. ``parts`` renders neutral text and splits it into
    the platform's messages (any heading the platform adds, such as who asked, included, so
    that "more than one message" counts what would really be posted)."""
    full = parts(reply.text)
    long = len(full) > 1
    files = [f for f in reply.files if long or not f.when_long]
    if long and reply.brief and any(f.when_long for f in reply.files):
        return Outgoing(parts(reply.brief), files, brief=True)
    return Outgoing(full, files)
