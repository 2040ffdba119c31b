"""The terminal room: a real adapter on the same core, the embedded default and test harness.

Lines typed as a writer become neutral messages: '/command ...' runs a command, '@bot ...'
addresses the bot, anything else is said to the room and kept in the thread's history.
'/thread NAME' moves between threads; a brainstorm opened here gets a thread of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from agents.messages import Delta, Final, Message, Reply
from agents.render import BOLD
from agents.room import Room

PLATFORM = "terminal"
_MENTION = re.compile(r"^@(bot|room|wr|writersroom)\b[:,]?\s*", re.IGNORECASE)
EXIT_WORDS = frozenset({"/quit", "/exit"})


def terminal_message(line: str, *, writer: str, thread: str) -> Message:
    text = line.strip()
    mentioned = bool(_MENTION.match(text))
    if mentioned:
        text = _MENTION.sub("", text, count=1)
    return Message(
        platform=PLATFORM,
        workspace="local",
        channel=PLATFORM,
        thread=thread,
        author=writer,
        author_id=writer,
        text=text,
        mentions_bot=mentioned or text.startswith("/"),
        link=f"terminal thread {thread}",
        raw=line,
    )


def styled(text: str) -> str:
    """Neutral text as rich markup: escaped, with its titles in bold."""
    return BOLD.sub(r"[bold]\1[/bold]", escape(text))


def _draft(text: str) -> Text:
    return Text.assemble(
        ("room bot (drafting, checked before it is final) ", "dim cyan"), (text, "dim")
    )


class _NamedThreads:
    """A brainstorm opened here moves the writer to a new named thread (the core names it)."""

    async def open(self, title: str, name: str) -> tuple[str, str]:
        return name, f"terminal thread {name}"

    async def discard(self, thread: str) -> None:
        return None


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
        as_of: str | None = None,
    ) -> None:
        self._room = room
        self.as_of = as_of  # --as-of: every message reasons as of this episode
        self.show = show
        self.writer = writer
        self.thread = thread
        self._out = out
        self._err = err
        self._hinted = False

    async def send(self, line: str, *, stream: bool = True) -> Reply:
        """Say one line as the writer; prints the reply as it streams and returns it."""
        words = line.split()
        if words and words[0].lower() == "/thread":
            return self._switch(" ".join(words[1:]))
        msg = terminal_message(line, writer=self.writer, thread=self.thread)
        msg = msg.model_copy(
            update={"show": self.show, "threads": _NamedThreads(), "as_of": self.as_of}
        )
        final = Reply.error("No reply.")
        draft: list[str] = []
        # The model's draft is a preview only: it is erased when the verified reply arrives,
        # so the writer is never left looking at text that did not pass the checks.
        with Live(console=self._out, transient=True, auto_refresh=False) as live:
            async for event in self._room.handle(msg):
                if isinstance(event, Delta) and stream:
                    draft.append(event.text)
                    live.update(_draft("".join(draft)), refresh=True)
                elif isinstance(event, Final):
                    final = event.reply
        self._show_final(final)
        if final.thread and final.thread != self.thread:
            self.thread = final.thread
            self._out.print(
                f"[dim](you are now in thread {escape(final.thread)}; /thread main to leave)[/]"
            )
        return final

    def _switch(self, name: str) -> Reply:
        name = name.strip()
        if not re.fullmatch(r"[\w.-]{1,64}", name):
            reply = Reply.error("Usage: /thread NAME (letters, digits, - . _)")
            self._err.print(f"[bold red]![/] {escape(reply.text)}")
            return reply
        self.thread = name
        self._out.print(f"[dim](now in thread {escape(name)})[/]")
        return Reply(kind="noted", text=f"Now in thread {name}.")

    def _show_final(self, reply: Reply) -> None:
        if reply.kind == "error":
            self._err.print(f"[bold red]![/] {escape(reply.text)}")
        elif reply.kind == "noted":
            if not self._hinted:
                self._out.print("[dim](said to the room; address the bot with @bot, or /help)[/]")
                self._hinted = True
        else:
            self._out.print(f"[bold cyan]room bot[/] {styled(reply.text)}")

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
