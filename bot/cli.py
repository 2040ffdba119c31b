"""The `writersroom` command: the terminal room, one-shot questions, and bible tools.

Exit codes: 0 success, 1 a failure the message explains, 2 a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from agents import render
from agents.export_choices import FORMATS, WHATS
from agents.exporting import UnusableFormat
from agents.messages import Final, Message, Reply
from agents.screenplay.model import page_count
from bot import compose, model_cli
from bot.progress import progress_bars
from bot.settings import Settings
from bot.terminal import TerminalRoom, local_file, rich_table, save_files, terminal_message

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _episode_arg(value: str) -> str:
    """Checked at the command line so a typo fails before the model loads."""
    try:
        return compose.episode_code(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
        p.add_argument(
            "--as-of",
            type=_episode_arg,
            metavar="EPISODE",
            help="reason as of an episode (S1E03, 103): canon revealed later is hidden",
        )

    chat = sub.add_parser("chat", help="open the terminal room (a REPL)")
    who(chat)
    ask = sub.add_parser("ask", help="ask once and print the reply (for scripts)")
    who(ask)
    ask.add_argument("--json", action="store_true", help="print the structured result as JSON")
    ask.add_argument(
        "--file",
        metavar="PATH",
        help="a text file (.fountain, .txt, .md) the command reads as its text",
    )
    ask.add_argument("text", nargs="+", help="a question, or a command like '/logline ...'")

    bible = sub.add_parser("bible", help="load or search a show bible")
    bsub = bible.add_subparsers(dest="bible_command", required=True, metavar="ACTION")
    ingest = bsub.add_parser("ingest", help="load a folder of Markdown files into a show's bible")
    ingest.add_argument("directory", help="folder of .md files with YAML front matter")
    ingest.add_argument("--show", required=True, help="show name, like lantern-line")
    imp = bsub.add_parser(
        "import",
        help="file a script (.fountain, .fdx) into a show's bible as an episode",
        description="Write an episode file (one section per scene: heading, action, who is "
        "in it, first lines), a stub for each new speaking character, and appears_in for the "
        "bible's characters who appear; then re-ingest. Importing the same script again "
        "changes nothing. Hand-written files are never overwritten.",
    )
    imp.add_argument("script", metavar="SCRIPT", help="a .fountain or .fdx file")
    imp.add_argument("--show", required=True, help="show name, like lantern-line")
    imp.add_argument(
        "--episode",
        metavar="EPISODE",
        help="which episode it is (S2E01, 201); default: the title page's or file name's",
    )
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

    export = sub.add_parser(
        "export",
        help="write a thread's latest beat sheet, wrap-up, scene or shot list as a file",
        description="Write a thread's latest beat sheet, wrap-up, scene or shot list as "
        "Fountain, Final Draft (fdx), Markdown (md) or CSV (shot lists and beat sheets). Reads "
        "the room's history only: no model is loaded.",
    )
    export.add_argument("--show", help="show name (default: WR_DEFAULT_SHOW)")
    export.add_argument(
        "--thread",
        default="main",
        help="a terminal thread's name, or a chat thread as platform:channel/thread or its "
        "brainstorm's link (default: main)",
    )
    export.add_argument(
        "--what", choices=WHATS, help="what to export (default: the thread's newest of these)"
    )
    export.add_argument(
        "--format", choices=FORMATS, help="file format (default: fountain; csv for shot lists)"
    )
    export.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE ('-' or none: standard output)"
    )

    backup = sub.add_parser(
        "backup",
        help="back up the data dir (history, ideas ledger, room state, bible folders) into DIR",
        description="Back up the data dir into DIR, a new or empty folder: the SQLite stores "
        "(safe while the bot runs), every show's bible folder, and a manifest with checksums. "
        "The bible index is rebuilt from the folders on restore.",
    )
    backup.add_argument("directory", metavar="DIR", help="a new or empty folder")
    restore = sub.add_parser(
        "restore",
        help="restore a backup into the data dir (WR_DATA_DIR); stop the bot first",
        description="Check a backup's checksums, restore it into the data dir (WR_DATA_DIR) "
        "and rebuild the bible index from its folders. A data dir that already holds data is "
        "refused unless --force.",
    )
    restore.add_argument("directory", metavar="DIR", help="a folder written by writersroom backup")
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace the data dir's data; what it replaces is moved to a .wr-replaced-<time> "
        "folder in the data dir, not deleted",
    )

    model_cli.add_parser(sub)

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
        settings = compose.load_settings()
    except compose.BadSetting as exc:
        err.print(f"error: {escape(str(exc))}")
        return EXIT_USAGE
    try:
        if args.command == "bible":
            return _bible(args, settings, out, err)
        if args.command == "ideas":
            return _ideas(args, settings, err)
        if args.command == "export":
            return _export(args, settings, err)
        if args.command == "backup":
            return _backup(args, settings, err)
        if args.command == "restore":
            return _restore(args, settings, err)
        if args.command == "model":
            return model_cli.run(args, settings, out, err)
        if args.command == "slack":
            return asyncio.run(_slack(args, settings, err))
        if args.command == "discord":
            return asyncio.run(_discord(args, settings, err))
        return asyncio.run(_room(args, settings, out, err))
    except compose.USER_ERRORS as exc:
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


def print_report(report: Any, err: Console) -> None:
    err.print(
        f"Ingested show [green]{report.show}[/]: {report.files} files, {report.chunks} chunks "
        f"({report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.removed} removed), {len(report.skipped)} skipped."
    )
    for label, problems in (("skipped", report.skipped), ("warning", report.warnings)):
        for problem in problems:
            where = f"{problem.path}:{problem.line}" if problem.line else problem.path
            err.print(f"  [yellow]{label}[/] {escape(where)}: {escape(problem.reason)}")


def _bible(args: argparse.Namespace, settings: Settings, out: Console, err: Console) -> int:
    if args.bible_command == "shows":
        shows, cut_off = compose.list_shows(settings)
        for show in shows:
            out.print(show)
        for show in cut_off:
            err.print(
                f"[yellow]note[/] the last load of {escape(show)} was cut off before it finished; "
                "the next start of the room finishes it"
            )
        return EXIT_OK
    if args.bible_command == "ingest":
        with progress_bars(err, enabled=err.is_terminal) as progress:
            report = compose.ingest(settings, Path(args.directory), args.show, progress)
        print_report(report, err)
        return EXIT_OK if report.chunks or not report.skipped else EXIT_FAIL
    if args.bible_command == "import":
        with progress_bars(err, enabled=err.is_terminal) as progress:
            done = compose.import_script(
                settings, Path(args.script), args.show, args.episode, progress
            )
        print_import(done, err)
        return EXIT_OK
    query = " ".join(args.query)
    _, hits = compose.search(settings, args.show, query, max(1, args.k))
    if args.json:
        out.print_json(json.dumps(render.search_rows(hits)))
        return EXIT_OK
    out.print(escape(render.search(query, hits)), soft_wrap=True)
    return EXIT_OK


def print_import(done: compose.Imported, err: Console) -> None:
    plan = done.plan
    err.print(
        f"Imported {escape(done.file)} ({done.loaded.format}, read as {done.loaded.encoding}) "
        f"into [green]{done.show}[/] as {plan.episode.code} “{escape(plan.title)}”: "
        f"{plan.scenes} scenes, about {page_count(done.loaded.script):.0f} pages."
    )
    for change in plan.changes:
        err.print(f"  {change.action:9} {escape(change.rel)}  ({escape(change.what)})")
    for why in plan.skipped:
        err.print(f"  [yellow]skipped[/]   {escape(why)}")
    print_report(done.ingest, err)


def _ideas(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    text = compose.export_ideas(settings, args.show)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        err.print(f"Wrote the {compose.show_name(args.show)} ideas ledger to {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _export(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    """The file on standard output (bytes, as written: an .fdx is UTF-8 XML) or in FILE,
    written whole or not at all; what it is on standard error."""
    try:
        file, said = compose.export_result(settings, args.show, args.thread, args.what, args.format)
    except UnusableFormat as exc:
        err.print(f"error: {escape(str(exc))}")
        return EXIT_USAGE
    if args.output in (None, "-"):
        sys.stdout.flush()
        sys.stdout.buffer.write(file.data)
        sys.stdout.buffer.flush()
        err.print(escape(said))
        return EXIT_OK
    target = Path(args.output)
    try:
        write_whole(target, file.data)
    except OSError as exc:
        err.print(
            f"error: could not write {escape(str(target))}: {escape(exc.strerror or str(exc))}"
        )
        return EXIT_FAIL
    err.print(f"{escape(said)}; written to {escape(str(target))}")
    return EXIT_OK


def write_whole(target: Path, data: bytes) -> None:
    """``data`` in ``target``, replacing it only once all of it is written."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _backup(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    target = Path(args.directory)
    with progress_bars(err, enabled=err.is_terminal) as progress:
        manifest = compose.backup(settings, target, progress)
    shows = ", ".join(manifest.shows) or "none"
    err.print(
        f"Backed up to {escape(str(target))}: {len(manifest.files)} files; stores: "
        f"{', '.join(manifest.databases) or 'none yet'}; bibles: {escape(shows)}."
    )
    for show, entry in manifest.shows.items():
        if not entry.from_data_dir:
            err.print(
                f"  [yellow]note[/] the {escape(show)} bible folder lies outside the data dir; "
                "it is in the backup and a restore puts it in the data dir's bibles folder"
            )
    for show, why in manifest.left_out.items():
        err.print(
            f"  [yellow]warning[/] {escape(show)} is not in the backup: {escape(why)}. Ingest it "
            f"again (writersroom bible ingest DIR --show {escape(show)}), then back up again."
        )
    return EXIT_OK


def _restore(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    with progress_bars(err, enabled=err.is_terminal) as progress:
        summary = compose.restore(settings, Path(args.directory), args.force, progress)
    for report in summary.restored.reports:
        print_report(report, err)
    shows = ", ".join(f"{show} ({n} sections)" for show, n in summary.sections.items())
    err.print(
        f"Restored the backup of {summary.restored.manifest.created}: bibles: "
        f"{escape(shows or 'none')}; {summary.turns} history turns; {summary.brainstorms} "
        "brainstorms."
    )
    for show, why in summary.restored.manifest.left_out.items():
        err.print(
            f"  [yellow]warning[/] the backup does not hold {escape(show)} ({escape(why)}); "
            f"ingest it again: writersroom bible ingest DIR --show {escape(show)}"
        )
    if summary.restored.replaced is not None:
        err.print(
            f"The data it replaced is kept in {escape(str(summary.restored.replaced))}; delete "
            "it once the restored room works."
        )
    return EXIT_OK


def _app(settings: Settings, err: Console, show: str | None = None) -> compose.App:
    """The room, assembled with progress bars; the first run's sample ingest reported."""
    with progress_bars(err, enabled=err.is_terminal) as progress:
        app = compose.build_app(settings, progress, show=show)
    for report in [app.report, *app.refreshed]:
        if report is not None:
            print_report(report, err)
    for show in app.not_refreshed:
        err.print(
            f"[yellow]note[/] the bible of {escape(show)} was loaded by an older version, or its "
            "last load was cut off, and its folder is gone; load it again to use all of it: "
            f"writersroom bible ingest DIR --show {show}"
        )
    for settled in app.reconciled:
        print_reconciled(settled, err)
    return app


def print_reconciled(settled: compose.Reconciled, err: Console) -> None:
    """What the start-up check changed after a canon change was cut off, for whoever runs
    the bot (the audit log in the ledger has the same)."""
    for label, files in (
        ("taken back (the canon add was cut off before it was confirmed)", settled.removed),
        ("recorded as a promotion (it was in the bible with none)", settled.recorded),
        ("marked undone (its file is gone)", settled.undone),
    ):
        for file in files:
            err.print(f"[yellow]note[/] {escape(settled.show)} canon {escape(file)}: {label}")


async def _room(args: argparse.Namespace, settings: Settings, out: Console, err: Console) -> int:
    app = _app(settings, err, args.show)
    show = app.show
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
                as_of=args.as_of,
                exports=app.settings.exports_dir,
            )
            return await term.repl(input)
        return await _ask(app, args, show, out, err)
    finally:
        app.close()


async def _slack(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    from bot.slack_bot import serve_http, serve_socket_mode

    compose.check_slack(settings, http=args.http)
    app = _app(settings, err)
    try:
        slack = compose.build_slack(app)
        if args.http:
            err.print(f"Slack events on http://{args.host}:{args.port}/slack/events")
            await serve_http(slack, args.host, args.port)
        else:
            err.print("Connecting to Slack in Socket Mode…")
            await serve_socket_mode(slack, compose.slack_app_token(app))
    finally:
        app.close()
    return EXIT_OK


async def _discord(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    from bot.discord_bot import run_discord

    compose.check_discord(settings)
    app = _app(settings, err)
    try:
        bot, token, api_base = compose.build_discord(app)
        err.print("Connecting to Discord…")
        await run_discord(bot, token, api_base, args.sync_guild)
    finally:
        app.close()
    return EXIT_OK


async def _ask(
    app: compose.App, args: argparse.Namespace, show: str, out: Console, err: Console
) -> int:
    msg: Message = terminal_message(" ".join(args.text), writer=args.writer, thread=args.thread)
    files = [local_file(Path(args.file), app.room.max_upload_bytes)] if args.file else []
    msg = msg.model_copy(
        update={"mentions_bot": True, "show": show, "as_of": args.as_of, "files": files}
    )
    reply = Reply.error("No reply.")
    async for event in app.room.handle(msg):
        if isinstance(event, Final):
            reply = event.reply
    if reply.kind == "error":
        err.print(f"error: {escape(reply.text)}")
        return EXIT_FAIL
    if args.json:
        payload = (
            reply.data
            if reply.data is not None
            else {"text": reply.text, "citations": [c.model_dump() for c in reply.citations]}
        )
        print(json.dumps({"kind": reply.kind, **payload}, indent=2))
    elif reply.table is not None:  # the brief over the table, not the text's code block
        print(render.plain(reply.brief or reply.table.title))
        out.print(rich_table(reply.table))
    else:
        print(render.plain(reply.text))
    # With --json, stdout is the JSON alone: where the files went is said on stderr.
    saved = save_files(reply.files, app.settings.exports_dir, err if args.json else out, err)
    return EXIT_OK if saved else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
