"""Backup and restore of a room's data dir on real SQLite, real Chroma and the real MiniLM
embedder. A scripted model stands in for generation (brainstorm openings); no model output is
compared, only what the stores hold and what search returns."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from agents.llm.scripted import ScriptedBackend
from bot import compose
from bot.compose import App, build_app, open_bible, open_embedder
from bot.settings import Settings
from bot.terminal import TerminalRoom
from memory.backup import MANIFEST, BackupError, checksum
from memory.bible import SOURCE_KEY, StoreLock
from memory.embeddings import MiniLMEmbedder
from memory.history import ConversationKey, HistoryStore, Turn
from memory.restore import _swap
from tests.conftest import SAMPLE, SHOW, ingest_other_show, run
from tests.scenario import DANA_PITCH, SAM_PITCH, SEARCH_FOR_SAM, pitch_by_author
from tests.test_terminal_and_cli import cli

OTHER = "dust-bowl"
DATABASES = ("room.sqlite3", "ledger.sqlite3", "state.sqlite3")
QUERIES = [
    (SHOW, "who keeps the lighthouse chapel"),
    (SHOW, "what happened to Toby"),
    (SHOW, "the fog bell rule"),
    (SHOW, SEARCH_FOR_SAM),
    (SHOW, "what is Cap afraid of"),
    (OTHER, "crop-duster pilot"),
]
PROVOCATIONS = json.dumps(
    {
        "provocations": [
            {"text": "What if the bell rings for someone who is still alive?", "sources": []},
            {"text": "Who in town would want the bell silent for good?", "sources": []},
            {"text": "What does Maren owe the bell after the storm?", "sources": []},
        ]
    }
)


def room(settings: Settings, embedder: object) -> App:
    """The room on a data dir, answers extracted (no model text), openings scripted."""
    return build_app(
        settings.model_copy(update={"answer_mode": "extract"}),
        engine=ScriptedBackend(PROVOCATIONS),
        embedder=embedder,  # type: ignore[arg-type]
        show=SHOW,
    )


def writer(app: App, name: str, thread: str = "main") -> TerminalRoom:
    out = Console(file=io.StringIO(), width=200)
    return TerminalRoom(app.room, show=SHOW, writer=name, thread=thread, out=out, err=out)


def hold_a_room(app: App) -> tuple[str, str]:
    """A question, room talk, a brainstorm with pitches and a vote, and a canon add.
    Returns the brainstorm's thread and the promoted file."""

    async def go() -> tuple[str, str]:
        dana = writer(app, "dana")
        assert (await dana.send("@bot what happened to Toby?", stream=False)).kind == "answer"
        assert (await dana.send("the cold open needs fog")).kind == "noted"
        opened = await dana.send("/brainstorm the fog bell", stream=False)
        assert opened.kind == "brainstorm", opened.text
        sam, ana = writer(app, "sam", dana.thread), writer(app, "ana", dana.thread)
        assert (await dana.send(DANA_PITCH)).kind == "pitch"
        assert (await sam.send(SAM_PITCH)).kind == "pitch"
        pitch = pitch_by_author(app, "sam")
        assert (await ana.send(f"/vote {pitch.id}")).kind == "vote"
        added = await ana.send(f"/canon add {pitch.id}")
        assert added.kind == "canon", added.text
        return dana.thread, added.result.file  # type: ignore[union-attr]

    return run(go())


def table_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in order: what 'identical' means for a store."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: db.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}
    finally:
        db.close()


def snapshot(app: App, data_dir: Path) -> dict[str, object]:
    return {
        "shows": app.bible.shows(),
        "sections": {show: app.bible.count(show) for show in app.bible.shows()},
        "rows": {name: table_rows(data_dir / name) for name in DATABASES},
        "top5": {q: [h.chunk.id for h in app.bible.search(s, q, k=5)] for s, q in QUERIES},
    }


def test_round_trip_restores_everything_at_another_path(
    settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path
) -> None:
    original = room(settings, embedder)
    restored: App | None = None
    try:
        ingest_other_show(original, tmp_path, OTHER)  # its folder lies outside the data dir
        thread, promoted = hold_a_room(original)
        # backed up while the room holds every store (and the embedded Chroma lock)
        manifest = compose.backup(settings, tmp_path / "backup")
        before = snapshot(original, settings.data_dir)
        assert before["sections"][SHOW] > 60 and before["sections"][OTHER] == 1  # type: ignore[index]
        rows = before["rows"]["ledger.sqlite3"]  # type: ignore[index]
        assert len(rows["pitches"]) == 2 and len(rows["promotions"]) == 1 and rows["audit"]
        assert len(before["rows"]["room.sqlite3"]["turns"]) >= 2  # type: ignore[index]

        assert set(manifest.databases) == {"history", "ledger", "state"}
        assert manifest.shows[SHOW].from_data_dir and not manifest.shows[OTHER].from_data_dir
        assert f"bibles/{SHOW}/{promoted}" in manifest.files and manifest.left_out == {}
        backup = tmp_path / "backup"
        assert not (backup / "chroma").exists() and not list(backup.glob("*-wal"))
        assert not list(tmp_path.glob("backup.tmp-*"))

        # a new data dir at another path, and an embedder with no memory of the first run
        moved = settings.model_copy(update={"data_dir": tmp_path / "elsewhere" / "data"})
        fresh = open_embedder(moved)
        summary = compose.restore(moved, backup, embedder=fresh)
        assert summary.sections == before["sections"]
        assert summary.turns == len(before["rows"]["room.sqlite3"]["turns"])  # type: ignore[index]
        assert not list(moved.data_dir.glob(".wr-*"))  # no scratch or replaced folders left

        restored = room(moved, fresh)
        assert snapshot(restored, moved.data_dir) == before
        for show in (SHOW, OTHER):
            assert restored.bible.source_dir(show) == moved.data_dir.resolve() / "bibles" / show

        async def undo() -> str:
            reply = await writer(restored, "ana", thread).send("/canon undo")
            assert reply.kind == "canon", reply.text
            return reply.text

        run(undo())
        assert not (moved.data_dir / "bibles" / SHOW / promoted).exists()
        assert (settings.data_dir / "bibles" / SHOW / promoted).is_file()  # the original's
        assert all(h.chunk.file != promoted for h in restored.bible.search(SHOW, SEARCH_FOR_SAM))
        assert restored.room.services.ledger.promotions.last(SHOW) is None
        assert original.room.services.ledger.promotions.last(SHOW) is not None
    finally:
        original.close()
        if restored is not None:
            restored.close()


@pytest.fixture
def kept(settings: Settings, embedder: MiniLMEmbedder, bible_copy: Path) -> Iterator[Path]:
    """A closed data dir with one show (from a folder outside it) and one history turn, and
    its backup."""
    bible = open_bible(settings, embedder)
    bible.ingest(bible_copy, SHOW)
    bible.close()
    history = HistoryStore(settings.history_path)
    history.append(
        ConversationKey("terminal", "local", "terminal", "main"),
        SHOW,
        [Turn("writer", "dana", "the cold open needs fog", "the cold open needs fog", 6)],
    )
    history.close()
    target = settings.data_dir.parent / "backup"
    compose.backup(settings, target)
    yield target


def listing(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def reseal(backup: Path, rel: str) -> None:
    """Write the manifest's checksum for a file changed after the backup."""
    manifest = json.loads((backup / MANIFEST).read_text())
    manifest["files"][rel] = checksum(backup / rel).model_dump()
    (backup / MANIFEST).write_text(json.dumps(manifest))


def test_a_damaged_or_partial_backup_is_refused_and_changes_nothing(
    settings: Settings, embedder: MiniLMEmbedder, kept: Path, tmp_path: Path
) -> None:
    target = settings.model_copy(update={"data_dir": tmp_path / "target"})
    cases = {
        "edited": lambda b: (b / "bibles" / SHOW / "characters/toby_vell.md").write_text("x"),
        "missing": lambda b: (b / "room.sqlite3").unlink(),
        "manifest": lambda b: (b / MANIFEST).write_text("{not json"),
        "no manifest": lambda b: (b / MANIFEST).unlink(),
        "newer": lambda b: (b / MANIFEST).write_text(json.dumps({"format": 2})),
        "escape": lambda b: (b / MANIFEST).write_text(
            (b / MANIFEST).read_text().replace('"bibles/lantern-line"', '"../../x"')
        ),
        # a show's name is where its files go: it must not lead out of the data dir
        "show name": lambda b: (b / MANIFEST).write_text(
            (b / MANIFEST).read_text().replace('"lantern-line": {', '"../../../tmp/evil": {')
        ),
        "absolute show": lambda b: (b / MANIFEST).write_text(
            (b / MANIFEST).read_text().replace('"lantern-line": {', '"/tmp/evil": {')
        ),
    }
    said = {
        "edited": "incomplete or damaged: bibles/lantern-line/characters/toby_vell.md",
        "missing": "incomplete or damaged: room.sqlite3",
        "manifest": "manifest.json is damaged",
        "no manifest": "is not a writersroom backup",
        "newer": "written by a newer writersroom (backup format 2)",
        "escape": "manifest.json is damaged",
        "show name": "manifest.json is damaged",
        "absolute show": "manifest.json is damaged",
    }
    for name, damage in cases.items():
        broken = tmp_path / name
        shutil.copytree(kept, broken)
        damage(broken)
        with pytest.raises(BackupError, match=r"(N|n)othing was changed") as exc:
            compose.restore(target, broken, embedder=embedder)
        assert said[name] in str(exc.value), name
        assert not target.data_dir.exists(), name
    assert not Path("/tmp/evil").exists()


def test_a_data_dir_that_holds_data_is_refused_or_kept_aside_with_force(
    settings: Settings, embedder: MiniLMEmbedder, kept: Path, tmp_path: Path
) -> None:
    before = listing(settings.data_dir)
    with pytest.raises(BackupError, match=r"already holds data \(room.sqlite3, chroma\)"):
        compose.restore(settings, kept, embedder=embedder)
    assert listing(settings.data_dir) == before

    # a restore that fails after it began (an unsound store in a well-sealed backup)
    bad = tmp_path / "bad"
    shutil.copytree(kept, bad)
    (bad / "room.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
    reseal(bad, "room.sqlite3")
    with pytest.raises(BackupError, match=r"room\.sqlite3 is not a sound SQLite file"):
        compose.restore(settings, bad, force=True, embedder=embedder)
    assert listing(settings.data_dir) == before
    assert not list(settings.data_dir.glob(".wr-*"))

    # with --force: the old data is kept aside, a stale WAL file included
    stale = settings.data_dir / "room.sqlite3-wal"
    stale.write_bytes(b"an old write-ahead log")
    (settings.data_dir / "bibles" / "old-show").mkdir(parents=True)
    (settings.data_dir / "bibles" / "old-show" / "note.md").write_text("old")
    summary = compose.restore(settings, kept, force=True, embedder=embedder)
    aside = summary.restored.replaced
    assert aside is not None and aside.parent == settings.data_dir.absolute()
    assert (aside / "room.sqlite3-wal").read_bytes() == b"an old write-ahead log"
    assert (aside / "bibles" / "old-show" / "note.md").is_file()
    assert (aside / "chroma").is_dir() and (aside / "room.sqlite3").is_file()
    assert not stale.exists() and not (settings.data_dir / "bibles" / "old-show").exists()
    assert summary.sections == {SHOW: 73} and summary.turns == 1
    assert sorted(p.name for p in (settings.data_dir / "bibles").iterdir()) == [SHOW]


def test_a_backup_is_refused_where_it_would_overwrite_or_contain_itself(
    settings: Settings, embedder: MiniLMEmbedder, kept: Path, bible_copy: Path, tmp_path: Path
) -> None:
    with pytest.raises(BackupError, match="not an empty folder; nothing was written"):
        compose.backup(settings, kept)
    with pytest.raises(BackupError, match="inside what it backs up"):
        compose.backup(settings, bible_copy / "backups")
    with pytest.raises(BackupError, match="inside what it backs up"):
        compose.backup(settings, settings.bibles_dir / "b")
    assert not (bible_copy / "backups").exists() and not settings.bibles_dir.exists()
    assert not list(tmp_path.rglob("*.tmp-*"))

    # a show whose folder is gone is named in the manifest, not silently dropped
    gone = tmp_path / "gone"
    shutil.copytree(bible_copy / "characters", gone)
    bible = open_bible(settings, embedder)
    bible.ingest(gone, "gone-show")
    bible.close()
    shutil.rmtree(gone)
    manifest = compose.backup(settings, tmp_path / "second")
    assert manifest.left_out == {"gone-show": "its bible folder is gone"}
    assert list(manifest.shows) == [SHOW]
    assert not [f for f in manifest.files if "gone" in f]


def test_the_swap_is_undone_when_it_fails_halfway(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "stage").mkdir(parents=True)
    for name in ("a", "b"):
        (home / name).write_text(f"old {name}")
        (home / "stage" / name).write_text(f"new {name}")
    (home / "aside" / "b").mkdir(parents=True)  # b cannot be moved aside: its place is taken
    (home / "aside" / "b" / "x").write_text("in the way")
    with pytest.raises(OSError):
        _swap(
            [home / "a", home / "b"],
            lambda p: home / "stage" / p.name,
            lambda p: home / "aside" / p.name,
        )
    assert (home / "a").read_text() == "old a" and (home / "b").read_text() == "old b"
    assert (home / "stage" / "a").read_text() == "new a"
    assert not (home / "aside" / "a").exists()


def test_a_moved_data_dir_still_finds_its_bible_folder(
    settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path
) -> None:
    folder = settings.bibles_dir / SHOW
    shutil.copytree(SAMPLE, folder)
    bible = open_bible(settings, embedder)
    bible.ingest(folder, SHOW)
    stored = bible._collection(SHOW).metadata[SOURCE_KEY]
    bible.close()
    assert stored == f"bibles/{SHOW}"  # not the absolute path it had when ingested

    moved = settings.model_copy(update={"data_dir": tmp_path / "moved" / "data"})
    moved.data_dir.parent.mkdir()
    settings.data_dir.rename(moved.data_dir)
    bible = open_bible(moved, embedder)
    try:
        assert bible.source_dir(SHOW) == moved.data_dir.resolve() / "bibles" / SHOW
        # what an older version wrote, an absolute path, is still read as it is
        old = str(tmp_path / "old-place")
        bible._collection(SHOW).modify(metadata={"show": SHOW, SOURCE_KEY: old, "index_format": 2})
        assert bible.source_dir(SHOW) == Path(old)
    finally:
        bible.close()


def test_round_trip_through_a_chroma_server(
    settings: Settings, embedder: MiniLMEmbedder, bible_copy: Path, request: pytest.FixtureRequest
) -> None:
    port = request.getfixturevalue("chroma_server")
    remote = settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": port})
    bible = open_bible(remote, embedder)
    bible.ingest(bible_copy, SHOW)
    before = [h.chunk.id for h in bible.search(SHOW, "who keeps the lighthouse chapel")]
    bible.close()
    manifest = compose.backup(remote, settings.data_dir.parent / "backup")
    assert list(manifest.shows) == [SHOW] and not manifest.shows[SHOW].from_data_dir

    moved = remote.model_copy(update={"data_dir": settings.data_dir.parent / "moved"})
    summary = compose.restore(moved, settings.data_dir.parent / "backup", embedder=embedder)
    assert summary.sections == {SHOW: 73}
    bible = open_bible(moved, embedder)
    try:
        assert bible.source_dir(SHOW) == moved.data_dir.resolve() / "bibles" / SHOW
        assert [h.chunk.id for h in bible.search(SHOW, "who keeps the lighthouse chapel")] == before
    finally:
        bible.close()
    for data_dir in (settings.data_dir, moved.data_dir):  # the server holds the index
        assert not (data_dir / "chroma").exists()


def test_cli_backup_and_restore(settings: Settings, kept: Path, tmp_path: Path) -> None:
    done = cli(settings, "backup", str(kept))  # the fixture's backup folder is not empty
    assert done.returncode == 1
    assert "already exists and is not an empty folder; nothing was written" in done.stderr
    assert "Traceback" not in done.stderr and not list(kept.parent.glob("backup.tmp-*"))

    fresh = tmp_path / "cli-backup"
    done = cli(settings, "backup", str(fresh))
    assert done.returncode == 0, done.stderr
    assert "Backed up to" in done.stderr and "bibles: lantern-line" in done.stderr
    assert "lies outside the data dir" in done.stderr
    assert json.loads((fresh / MANIFEST).read_text())["format"] == 1

    elsewhere = settings.model_copy(update={"data_dir": tmp_path / "second"})
    done = cli(elsewhere, "restore", str(fresh))
    assert done.returncode == 0, done.stderr
    assert "Restored the backup of" in done.stderr and "lantern-line (73 sections)" in done.stderr
    assert "1 history turns" in done.stderr and "kept in" not in done.stderr

    done = cli(elsewhere, "restore", str(fresh))
    assert done.returncode == 1 and "already holds data" in done.stderr
    assert "--force" in done.stderr

    lock = StoreLock(elsewhere.resolved_chroma_path)  # as a running bot holds it
    try:
        done = cli(elsewhere, "restore", "--force", str(fresh))
    finally:
        lock.release()
    assert done.returncode == 1 and "Another writersroom process" in done.stderr
    assert "Traceback" not in done.stderr
    assert cli(settings, "backup").returncode == 2  # DIR is required


def test_a_backup_waits_for_a_canon_change_in_progress(
    settings: Settings, embedder: MiniLMEmbedder, bible_copy: Path
) -> None:
    """Another process holds the bible folder's lock (a canon add between its file and its
    ledger row): the backup waits for it, so it never holds half of that change."""
    bible = open_bible(settings, embedder)
    bible.ingest(bible_copy, SHOW)
    bible.close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys\n"
            f"fd = os.open({str(bible_copy)!r}, os.O_RDONLY | os.O_DIRECTORY)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\nsys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "held"
    target = settings.data_dir.parent / "backup-waits"
    backup = threading.Thread(target=compose.backup, args=(settings, target))
    try:
        backup.start()
        backup.join(timeout=2)
        assert backup.is_alive() and not target.exists()  # waiting on the change
    finally:
        holder.stdin.close()  # the change is done
        holder.wait()
    backup.join(timeout=120)
    assert not backup.is_alive() and (target / MANIFEST).is_file()
