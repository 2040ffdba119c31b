"""The process that tests/test_kill.py kills: one real operation of the room, on a data dir.

    python -m tests.kill_child MODE DATA_DIR [PITCH ...] [--die-at POINT] [--chroma-port N]

Modes (each prints ``ready`` just before the operation the parent may kill, and ``done``
after it):

- ``start``: the first run's start (``build_app`` with the sample show): open the store,
  copy the sample, ingest it; ``stage NAME`` lines say how far the ingest got. (The embedding
  model is loaded before ``ready``: it writes nothing, and the kills belong in the rest.)
- ``canon``: start, then ``canon add`` of each PITCH in turn and one ``canon undo``, as the
  canon editor 'ana' in the terminal room; ``reply KIND`` after each.
- ``promote``: start, wait for a line on stdin, then ``canon add`` each PITCH (two of these
  run at once against one Chroma server).
- ``hold``: hold the bible folder's lock (``memory.folder_lock``) until stdin closes.

``--die-at`` kills the process with SIGKILL at a named step instead of at a random time:
``ledger-add`` (the file is written and ingested, the promotion not recorded),
``ledger-undo`` (the file is removed and re-ingested, the promotion not marked undone),
``reconcile-remove`` (the start-up check audited taking back an unconfirmed add, its file is
still there), or
``ingest:N`` (the Nth ingest of the run begins: in ``canon``, 3 is the undo's, after the file
is removed; in ``start``, 1 is the start-up check's).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from agents.llm.scripted import ScriptedBackend
from agents.messages import Command, Reply, final_reply
from bot.compose import App, build_app, open_embedder
from bot.settings import Settings
from memory.bible import BibleStore
from memory.folder_lock import hold
from memory.promotions import Promotions

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "examples" / "lantern_line"
SHOW = "lantern-line"
DIE_AT = {"ledger-add": "add", "ledger-undo": "mark_undone"}


def settings_for(data_dir: Path, chroma_port: int | None = None) -> Settings:
    """The settings the parent and the child share: only the data dir and the store differ."""
    remote = {"chroma_host": "127.0.0.1", "chroma_port": chroma_port} if chroma_port else {}
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        sample_bible=SAMPLE,
        terminal_canon_writers="ana",
        **remote,
    )


def canon(action: str, target: str = "") -> Command:
    """A `canon` command from the canon editor 'ana' in the terminal room."""
    args = {"action": action, "target": target} if target else {"action": action}
    return Command(
        platform="terminal",
        workspace="local",
        channel="writers",
        thread="t1",
        author="ana",
        author_id="ana",
        show=SHOW,
        name="canon",
        args=args,
    )


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def die(*_: Any, **__: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def die_at(point: str) -> None:
    """Make the named step kill this process (see the module's docstring)."""
    if point in DIE_AT:
        setattr(Promotions, DIE_AT[point], die)
        return
    if point == "reconcile-remove":  # the start's removal audited, its file not yet gone
        import agents.canon_reconcile

        agents.canon_reconcile.remove = die  # type: ignore[assignment]
        return
    nth = int(point.removeprefix("ingest:"))
    real, calls = BibleStore.ingest, [0]

    def ingest(self: BibleStore, *args: Any, **kw: Any) -> Any:
        calls[0] += 1
        if calls[0] == nth:
            die()
        return real(self, *args, **kw)

    BibleStore.ingest = ingest  # type: ignore[method-assign]


def run_canon(app: App, pitches: list[str], undo: bool) -> None:
    async def go() -> None:
        for pitch in pitches:
            reply: Reply = await final_reply(app.room.handle(canon("add", pitch)))
            say(f"reply {reply.kind} {reply.text.splitlines()[0]}")
        if undo:
            reply = await final_reply(app.room.handle(canon("undo")))
            say(f"reply {reply.kind} {reply.text.splitlines()[0]}")

    asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("start", "canon", "promote", "hold"))
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("pitches", nargs="*")
    parser.add_argument("--die-at", help="ledger-add, ledger-undo, reconcile-remove or ingest:N")
    parser.add_argument("--chroma-port", type=int)
    args = parser.parse_args()
    if args.die_at:
        die_at(args.die_at)
    settings = settings_for(args.data_dir, args.chroma_port)
    if args.mode == "hold":
        with hold(settings.bibles_dir / SHOW):
            say("ready")
            sys.stdin.read()
        return
    last = [""]

    def progress(stage: str, done: int, total: int) -> None:
        if stage != last[0]:
            last[0] = stage
            say(f"stage {stage}")

    embedder = open_embedder(settings)
    if args.mode == "start":
        say("ready")
    app = build_app(settings, progress, engine=ScriptedBackend(), embedder=embedder, show=SHOW)
    try:
        if args.mode == "canon":
            say("ready")
            run_canon(app, args.pitches, undo=True)
        elif args.mode == "promote":
            say("ready")
            sys.stdin.readline()
            run_canon(app, args.pitches, undo=False)
        say(f"done {app.bible.count(SHOW)}")
    finally:
        app.close()


if __name__ == "__main__":
    main()
