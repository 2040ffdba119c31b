"""The `writersroom` command: the terminal room, one-shot questions, and bible tools.

Exit codes: 0 success, 1 a failure the message explains, 2 a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from agents import render
from agents.errors import RoomError
from agents.messages import Final, Reply
from agents.model_files import ModelFileError
from bot.compose import App, MissingSecret, build_app, build_slack, ensure_sample_show, open_bible
from bot.progress import progress_bars
from bot.settings import Settings
from bot.terminal import TerminalRoom, to_message
from memory.bible import IngestReport, InvalidShowName, StoreBusy, UnknownShow, show_slug
from memory.embeddings import EmbeddingModelMissing
from memory.room_state import RoomState

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="writersroom",
        description="A writers' room bot that knows your show bible. Runs locally, offline.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def who(p: argparse.ArgumentParser) -> None:
        p.add_argument("--show", help="show name (default: WR_DEFAULT_SHOW)")
        p.add_argument("--as", dest="writer", default="writer", help="your name in the room")
        p.add_argument("--thread", default="main", help="thread to talk in (default: main)")

    chat = sub.add_parser("chat", help="open the terminal room (a REPL)")
    who(chat)
    ask = sub.add_parser("ask", help="ask once and print the reply (for scripts)")
    who(ask)
    ask.add_argument("--json", action="store_true", help="print the structured result as JSON")
    ask.add_argument("text", nargs="+", help="a question, or a command like '/logline ...'")

    bible = sub.add_parser("bible", help="load or search a show bible")
    bsub = bible.add_subparsers(dest="bible_command", required=True, metavar="ACTION")
    ingest = bsub.add_parser("ingest", help="load a folder of Markdown files into a show's bible")
    ingest.add_argument("directory", help="folder of .md files with YAML front matter")
    ingest.add_argument("--show", required=True, help="show name, like lantern-line")
    search = bsub.add_parser("search", help="search a show's bible")
    search.add_argument("query", nargs="+")
    search.add_argument("--show", help="show name (default: WR_DEFAULT_SHOW)")
    search.add_argument("-k", type=int, default=5, help="how many hits (default 5)")
    search.add_argument("--json", action="store_true", help="print hits as JSON")
    bsub.add_parser("shows", help="list the shows that have a bible")

    ideas = sub.add_parser("ideas", help="the ideas ledger: pitches, votes, wrap-ups")
    isub = ideas.add_subparsers(dest="ideas_command", required=True, metavar="ACTION")
    export = isub.add_parser("export", help="write a show's ledger as Markdown for a room doc")
    export.add_argument("--show", required=True, help="show name, like lantern-line")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")

    slack = sub.add_parser("slack", help="run the room in Slack (Socket Mode by default)")
    slack.add_argument("--http", action="store_true", help="serve the Events API over HTTP")
    slack.add_argument("--host", default="0.0.0.0", help="HTTP address (default 0.0.0.0)")
    slack.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")

    disc = sub.add_parser("discord", help="run the room in Discord")
    disc.add_argument(
        "--sync-guild",
        type=int,
        help="register the slash commands on this one server (instant; for setup) "
        "instead of globally (can take up to an hour)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # soft_wrap: messages stay one line each when piped or captured by scripts.
    out = Console(soft_wrap=True, highlight=False)
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        err.print(f"error: setting WR_{str(first['loc'][0]).upper()}: {first['msg']}")
        return EXIT_USAGE
    try:
        if args.command == "bible":
            return _bible(args, settings, out, err)
        if args.command == "ideas":
            return _ideas(args, settings, err)
        if args.command == "slack":
            return asyncio.run(_slack(args, settings, err))
        if args.command == "discord":
            return asyncio.run(_discord(args, settings, err))
        return asyncio.run(_room(args, settings, out, err))
    except (
        RoomError,
        ModelFileError,
        EmbeddingModelMissing,
        UnknownShow,
        InvalidShowName,
        StoreBusy,
        MissingSecret,
        FileNotFoundError,
    ) as exc:
        err.print(f"error: {escape(str(exc))}")
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # no tracebacks for writers; -v logs the detail
        logging.getLogger(__name__).debug("unexpected failure", exc_info=True)
        err.print(
            f"error: something went wrong ({type(exc).__name__}). Run again with -v for details."
        )
        return EXIT_FAIL


def print_report(report: IngestReport, err: Console) -> None:
    err.print(
        f"Ingested show [green]{report.show}[/]: {report.files} files, {report.chunks} chunks "
        f"({report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.removed} removed), {len(report.skipped)} skipped."
    )
    for problem in report.skipped:
        where = f"{problem.path}:{problem.line}" if problem.line else problem.path
        err.print(f"  [yellow]skipped[/] {escape(where)}: {escape(problem.reason)}")


def _bible(args: argparse.Namespace, settings: Settings, out: Console, err: Console) -> int:
    from pathlib import Path

    bible = open_bible(settings)
    if args.bible_command == "shows":
        for show in bible.shows():
            out.print(show)
        return EXIT_OK
    if args.bible_command == "ingest":
        show = show_slug(args.show)
        with progress_bars(err, enabled=err.is_terminal) as progress:
            report = bible.ingest(Path(args.directory), show, progress)
        print_report(report, err)
        return EXIT_OK if report.chunks or not report.skipped else EXIT_FAIL
    show = show_slug(args.show or settings.default_show)
    ensure_sample_show(settings, bible, show)
    if not bible.has_show(show):
        raise UnknownShow(show, bible.shows())
    query = " ".join(args.query)
    hits = bible.search(show, query, k=max(1, args.k))
    if args.json:
        out.print_json(json.dumps(render.search_rows(hits)))
        return EXIT_OK
    out.print(escape(render.search(query, hits)), soft_wrap=True)
    return EXIT_OK


def _ideas(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    from pathlib import Path

    from memory.ideas_export import export_markdown
    from memory.ledger import Ledger

    show = show_slug(args.show)
    if not settings.ledger_path.exists():
        err.print("error: no ideas ledger yet: no brainstorm has been held on this machine.")
        return EXIT_FAIL
    ledger = Ledger(settings.ledger_path)
    try:
        if show not in ledger.shows():
            known = ", ".join(ledger.shows()) or "none"
            err.print(f"error: no brainstorms for '{show}' (shows with brainstorms: {known}).")
            return EXIT_FAIL
        text = export_markdown(ledger, show)
    finally:
        ledger.close()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        err.print(f"Wrote the {show} ideas ledger to {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


async def _room(args: argparse.Namespace, settings: Settings, out: Console, err: Console) -> int:
    show = show_slug(args.show or settings.default_show)
    with progress_bars(err, enabled=err.is_terminal) as progress:
        app = build_app(settings, progress)
        report = ensure_sample_show(settings, app.bible, show, progress)
    if report is not None:
        print_report(report, err)
    try:
        if args.command == "chat":
            if sys.stdin.isatty():
                import readline  # noqa: F401  (line editing and history for input())
            term = TerminalRoom(
                app.room,
                show=show,
                writer=args.writer,
                thread=args.thread,
                out=out,
                err=err,
                canon_writers=settings.terminal_canon_writer_names,
            )
            return await term.repl(input)
        return await _ask(app, args, show, out, err)
    finally:
        app.close()


@contextmanager
def _platform_room(settings: Settings, err: Console) -> Iterator[tuple[App, RoomState]]:
    """The room and the adapters' state, for a bot that runs until stopped."""
    with progress_bars(err, enabled=err.is_terminal) as progress:
        app = build_app(settings, progress)
        if settings.default_show:
            ensure_sample_show(settings, app.bible, show_slug(settings.default_show), progress)
    state = RoomState(settings.state_path)
    try:
        yield app, state
    finally:
        state.close()
        app.close()


async def _slack(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    from bot.slack_bot import serve_http, serve_socket_mode

    if not args.http and settings.slack_app_token is None:
        raise MissingSecret(["SLACK_APP_TOKEN"])
    with _platform_room(settings, err) as (app, state):
        slack = build_slack(app, state)
        if args.http:
            err.print(f"Slack events on http://{args.host}:{args.port}/slack/events")
            await serve_http(slack, args.host, args.port)
        else:
            assert settings.slack_app_token is not None
            err.print("Connecting to Slack in Socket Mode…")
            await serve_socket_mode(slack, settings.slack_app_token.get_secret_value())
    return EXIT_OK


async def _discord(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    from agents.shows import ShowResolver, load_show_map
    from bot.discord_bot import DiscordRoom, run_discord

    if settings.discord_token is None:
        raise MissingSecret(["DISCORD_TOKEN"])
    with _platform_room(settings, err) as (app, state):
        shows = ShowResolver(state, load_show_map(settings.show_map), settings.default_show)
        bot = DiscordRoom(
            app.room,
            shows,
            state,
            admin_roles=settings.discord_admin_role_ids,
            canon_editors=settings.discord_canon_editor_ids,
        )
        err.print("Connecting to Discord…")
        await run_discord(
            bot,
            settings.discord_token.get_secret_value(),
            settings.discord_api_base,
            args.sync_guild,
        )
    return EXIT_OK


async def _ask(app: App, args: argparse.Namespace, show: str, out: Console, err: Console) -> int:
    text = " ".join(args.text)
    editors = app.settings.terminal_canon_writer_names
    msg = to_message(
        text,
        writer=args.writer,
        thread=args.thread,
        may_edit_canon=not editors or args.writer in editors,
    )
    msg = msg.model_copy(update={"mentions_bot": True})
    reply = Reply(kind="error", text="No reply.")
    async for event in app.room.handle(msg, show):
        if isinstance(event, Final):
            reply = event.reply
    if reply.kind == "error":
        err.print(f"error: {escape(reply.text)}")
        return EXIT_FAIL
    if args.json:
        payload = (
            reply.data
            if reply.data is not None
            else {
                "text": reply.text,
                "citations": [c.model_dump() for c in reply.citations],
            }
        )
        print(json.dumps({"kind": reply.kind, **payload}, indent=2))
    else:
        print(reply.text)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
