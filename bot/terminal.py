"""The terminal room: a real adapter on the same core, the embedded default and test harness.

Lines typed as a writer become neutral messages: '/command ...' runs a command, '@bot ...'
addresses the bot, anything else is said to the room and kept in the thread's history.
'/thread NAME' moves between threads; a brainstorm opened here gets a thread of its own.
'/attach PATH' attaches a local file to the next message, as a file shared in Slack or
Discord is ('/attach scenes/3.fountain', then '/shots'); '/attach' alone drops it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table as RichTable
from rich.text import Text

from agents.inbound import too_big
from agents.messages import Attachment, Delta, Final, Inbound, Message, Reply, Table
from agents.render import BOLD, bold
from agents.room import Room
from bot.exports import save

PLATFORM = "terminal"
_MENTION = re.compile(r"^@(bot|room|wr|writersroom)\b[:,]?\s*", re.IGNORECASE)
EXIT_WORDS = frozenset({"/quit", "/exit"})
ATTACH = "/attach"


def local_file(path: Path, max_bytes: int) -> Inbound:
    """A file on this machine as an attachment: its size checked before it is read."""
    inbound = Inbound(name=path.name or str(path), mime="")
    try:
        size = path.stat().st_size
        if not path.is_file():
            return inbound.model_copy(update={"error": "it is not a file"})
        if size > max_bytes:
            return inbound.model_copy(update={"size": size, "error": "it is too big"})
        data = path.read_bytes()
    except FileNotFoundError:
        return inbound.model_copy(update={"error": f"there is no file {path}"})
    except OSError as exc:
        return inbound.model_copy(update={"error": exc.strerror or type(exc).__name__})
    return inbound.model_copy(update={"data": data, "size": len(data)})


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


def rich_table(table: Table) -> RichTable:
    """A reply's table as the terminal shows it; cells are plain text, never rich markup."""
    shown = RichTable(title=Text(table.title))
    for column in table.columns:
        shown.add_column(Text(column), overflow="fold")
    for row in table.rows:
        shown.add_row(*(Text(cell) for cell in row))
    return shown


def show_reply(reply: Reply, out: Console) -> None:
    """A finished reply: its text, or where it has a table, its brief and the table (the
    text's monospaced copy of the table is for platforms without tables)."""
    if reply.table is None:
        out.print(f"[bold cyan]room bot[/] {styled(reply.text)}")
        return
    out.print(f"[bold cyan]room bot[/] {styled(reply.brief or bold(reply.table.title))}")
    out.print(rich_table(reply.table))


def save_files(
    files: Sequence[Attachment], exports: Path | None, shown: Console, err: Console
) -> bool:
    """Save each file under ``exports`` and print 'saved: PATH' on ``shown``; say on ``err``
    which could not be saved and why. True when every file was saved."""
    saved = True
    for file in files:
        if exports is None:
            err.print(
                f"[yellow]note[/] {escape(file.name)} was not saved: this room keeps no files"
            )
            saved = False
            continue
        try:
            path = save(exports, file)
        except OSError as exc:
            why = exc.strerror or str(exc)
            err.print(
                f"error: could not save {escape(file.name)} in {escape(str(exports))}: "
                f"{escape(why)}"
            )
            saved = False
            continue
        shown.print(f"saved: {escape(str(path))}", soft_wrap=True)
    return saved


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
        exports: Path | None = None,
    ) -> None:
        """``exports``: the folder the files replies carry are saved in (the settings'
        exports_dir); None where the room keeps none, and the writer is told so."""
        self._room = room
        self._exports = exports
        self.as_of = as_of  # --as-of: every message reasons as of this episode
        self.show = show
        self.writer = writer
        self.thread = thread
        self._out = out
        self._err = err
        self._hinted = False
        self.attached: Inbound | None = None  # goes with the next message (/attach PATH)

    async def send(self, line: str, *, stream: bool = True) -> Reply:
        """Say one line as the writer; prints the reply as it streams and returns it."""
        words = line.split()
        if words and words[0].lower() == "/thread":
            return self._switch(" ".join(words[1:]))
        if words and words[0].lower() == ATTACH:
            return self._attach(line.strip()[len(ATTACH) :].strip())
        msg = terminal_message(line, writer=self.writer, thread=self.thread)
        files: list[Inbound] = []
        if self.attached is not None and msg.mentions_bot:
            files, self.attached = [self.attached], None
        elif self.attached is not None:  # said to the room: the file waits for a command
            self._out.print(
                f"[dim]({escape(self.attached.name)} is still attached: it goes with your next "
                "command or @bot message; /attach alone drops it)[/]"
            )
        msg = msg.model_copy(
            update={
                "show": self.show,
                "threads": _NamedThreads(),
                "as_of": self.as_of,
                "files": files,
            }
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

    def _attach(self, typed: str) -> Reply:
        """'/attach PATH': the file goes with the next message; '/attach' alone drops it."""
        if not typed:
            dropped, self.attached = self.attached, None
            text = f"Dropped {dropped.name}." if dropped else "Nothing is attached."
            self._out.print(f"[dim]({escape(text)})[/]")
            return Reply(kind="noted", text=text)
        path = Path(typed.strip("'\"")).expanduser()
        limit = self._room.max_upload_bytes
        inbound = local_file(path, limit)
        if inbound.error:
            why = (
                str(too_big(inbound.name, inbound.size, limit))
                if inbound.size > limit
                else f"I could not read {path}: {inbound.error}. Nothing is attached."
            )
            reply = Reply.error(why)
            self._err.print(f"[bold red]![/] {escape(reply.text)}")
            return reply
        self.attached = inbound
        text = (
            f"Attached {inbound.name} ({inbound.size:,} bytes): it goes with your next "
            "message, like /shots or @bot synopsis. /attach alone drops it."
        )
        self._out.print(f"[dim]({escape(text)})[/]")
        return Reply(kind="noted", text=text)

    def _show_final(self, reply: Reply) -> None:
        if reply.kind == "error":
            self._err.print(f"[bold red]![/] {escape(reply.text)}")
        elif reply.kind == "noted":
            if not self._hinted:
                self._out.print("[dim](said to the room; address the bot with @bot, or /help)[/]")
                self._hinted = True
        else:
            show_reply(reply, self._out)
            save_files(reply.files, self._exports, self._out, self._err)

    async def repl(self, read_line: Callable[[str], str]) -> int:
        self._out.print(
            f"[bold]writersroom[/] — show [green]{escape(self.show)}[/], you are "
            f"[green]{escape(self.writer)}[/], thread [green]{escape(self.thread)}[/]. "
            "Type /help for commands, @bot to ask, /thread NAME to switch threads, "
            "/attach PATH to send a file with your next message, /quit to leave."
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
