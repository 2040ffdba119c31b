"""The terminal room: a real adapter on the same core, the embedded default and test harness.

Lines typed as a writer become neutral messages: '/command ...' runs a command, '@bot ...'
addresses the bot, anything else is said to the room and kept in the thread's history.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from agents.messages import Delta, Final, IncomingMessage, Reply
from agents.room import Room
from memory.bible import slugify

_MENTION = re.compile(r"^@(bot|room|wr|writersroom)\b[:,]?\s*", re.IGNORECASE)
EXIT_WORDS = frozenset({"/quit", "/exit"})


def to_message(
    line: str, *, writer: str, thread: str, may_edit_canon: bool = False
) -> IncomingMessage:
    text = line.strip()
    mentioned = bool(_MENTION.match(text))
    if mentioned:
        text = _MENTION.sub("", text, count=1)
    return IncomingMessage(
        platform="terminal",
        workspace="local",
        channel="terminal",
        thread=thread,
        author=writer,
        author_id=writer,
        text=text,
        mentions_bot=mentioned or text.startswith("/"),
        link=f"terminal thread {thread}",
        may_edit_canon=may_edit_canon,
        raw=line,
    )


def _draft(text: str) -> Text:
    return Text.assemble(
        ("room bot (drafting, checked before it is final) ", "dim cyan"), (text, "dim")
    )


def brainstorm_thread(topic: str, taken: Callable[[str], bool]) -> str:
    """A named thread for a new brainstorm: 'bs-fog-bell', or 'bs-fog-bell-2' if taken."""
    base = f"bs-{slugify(topic, words=5) or 'topic'}"
    name, n = base, 2
    while taken(name):
        name, n = f"{base}-{n}", n + 1
    return name


class TerminalRoom:
    def __init__(
        self,
        room: Room,
        *,
        show: str,
        writer: str,
        thread: str,
        out: Console,
        err: Console,
        canon_writers: frozenset[str] = frozenset(),
    ) -> None:
        self._room = room
        self.show = show
        self.writer = writer
        self.thread = thread
        # Empty: whoever sits at this terminal owns the bible's files anyway, so may edit.
        self._canon_writers = canon_writers
        self._out = out
        self._err = err
        self._hinted = False

    def _taken(self, thread: str) -> bool:
        key = to_message("x", writer=self.writer, thread=thread).key
        return self._room.brainstorms.ledger.brainstorm(key) is not None

    async def send(self, line: str, *, stream: bool = True) -> Reply:
        """Say one line as the writer; prints the reply as it streams and returns it.

        '/thread NAME' moves to another thread; '/brainstorm TOPIC' opens a new named thread
        and moves there when it opened."""
        words = line.split()
        if words and words[0].lower() == "/thread":
            return self._switch(" ".join(words[1:]))
        thread = self.thread
        if words and words[0].lower() == "/brainstorm" and len(words) > 1:
            thread = brainstorm_thread(" ".join(words[1:]), self._taken)
        may_edit = not self._canon_writers or self.writer in self._canon_writers
        msg = to_message(line, writer=self.writer, thread=thread, may_edit_canon=may_edit)
        final = Reply(kind="error", text="No reply.")
        draft: list[str] = []
        # The model's draft is a preview only: it is erased when the verified reply arrives,
        # so the writer is never left looking at text that did not pass the checks.
        with Live(console=self._out, transient=True, auto_refresh=False) as live:
            async for event in self._room.handle(msg, self.show):
                if isinstance(event, Delta) and stream:
                    draft.append(event.text)
                    live.update(_draft("".join(draft)), refresh=True)
                elif isinstance(event, Final):
                    final = event.reply
        self._show_final(final)
        if final.kind == "brainstorm" and thread != self.thread:
            self.thread = thread
            self._out.print(
                f"[dim](you are now in thread {escape(thread)}; /thread main to leave)[/]"
            )
        return final

    def _switch(self, name: str) -> Reply:
        name = name.strip()
        if not re.fullmatch(r"[\w.-]{1,64}", name):
            reply = Reply(kind="error", text="Usage: /thread NAME (letters, digits, - . _)")
        else:
            self.thread = name
            reply = Reply(kind="noted", text=f"Now in thread {name}.")
            self._out.print(f"[dim](now in thread {escape(name)})[/]")
        if reply.kind == "error":
            self._err.print(f"[bold red]![/] {escape(reply.text)}")
        return reply

    def _show_final(self, reply: Reply) -> None:
        if reply.kind == "error":
            self._err.print(f"[bold red]![/] {escape(reply.text)}")
        elif reply.kind == "noted":
            if not self._hinted:
                self._out.print("[dim](said to the room; address the bot with @bot, or /help)[/]")
                self._hinted = True
        else:
            self._out.print(f"[bold cyan]room bot[/] {escape(reply.text)}")

    async def repl(self, read_line: Callable[[str], str]) -> int:
        self._out.print(
            f"[bold]writersroom[/] — show [green]{escape(self.show)}[/], you are "
            f"[green]{escape(self.writer)}[/], thread [green]{escape(self.thread)}[/]. "
            "Type /help for commands, @bot to ask, /thread NAME to switch threads, /quit to leave."
        )
        while True:
            try:
                line = read_line(f"{self.writer}> ")
            except (EOFError, KeyboardInterrupt):
                self._out.print()
                return 0
            if line.strip().lower() in EXIT_WORDS:
                return 0
            if line.strip():
                await self.send(line)
