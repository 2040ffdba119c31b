"""Several rooms on one Chroma server and one bible: what a studio running a Slack bot and a
Discord bot sees.

The rooms are real `writersroom chat` processes (tests/room_process.py) on one data dir and
a real `chroma run` on loopback, alive across the tests of this module, so each keeps its own
warm view of the bible: a change made in one must be what the other reads next
(``memory.bible_revision``), and changes made in both at once must take turns on the bible
folder's lock (``memory.folder_lock``). No model text is generated: searches and canon
commands only. The rooms start once for the module (each loads the model and the embedder).
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

import memory.bible
import memory.folder_lock
from agents.messages import final_reply
from bot import compose
from bot.compose import App, open_bible
from bot.settings import Settings
from memory.bible import BibleStore, Embedder, UnknownShow
from memory.bible_revision import stamp_of
from memory.history import ConversationKey
from memory.ledger import Actor
from tests.conftest import chroma_on_loopback, run
from tests.crash_state import SAMPLE_FILES, bible_folder, files_of, leftovers, start
from tests.kill_child import SHOW, canon, settings_for
from tests.room_process import RoomProcess

# Pitches with words the sample bible never uses, so a search finds them only once promoted.
ASTROLABE = "Quill hides a brass astrolabe inside the fog bell's clapper"
SEMAPHORE = "Nell signals the mainland with a semaphore lamp made of ferry glass"
HARPOON = "Cap keeps a whaler's harpoon under the galley bench"
SEARCH = "/bible search brass astrolabe in the clapper"
SEARCH_BOTH = "/bible search semaphore lamp of ferry glass, whaler's harpoon under the bench"
PROMOTED = re.compile(r"room/[\w.-]+\.md")


def pitched(app: App, *texts: str) -> list[int]:
    """A brainstorm holding ``texts`` as sam's pitches; their numbers."""
    log = app.room.services.ledger.log
    key = ConversationKey("terminal", "local", "writers", "bs")
    bs = log.open_brainstorm(key, SHOW, "what the bell hides", Actor("dana", "dana"))
    made = [log.record(bs, Actor("sam", "sam"), t, pitch=t) for t in texts]
    return [p.id for p in made if p is not None]


# Another process's change in progress: it takes the folder's flock as memory.folder_lock does,
# and keeps it until its stdin closes (a bare Python: quicker to start than the room).
HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("ready", flush=True)
sys.stdin.read()
"""


@contextmanager
def holding(data: Path) -> Iterator[None]:
    """Another process holds the show's bible folder lock (as an ingest or a canon change in
    progress would) until the block ends."""
    folder = bible_folder(settings_for(data))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "ready"
        yield
    finally:
        holder.stdin.close()  # its change is done
        holder.wait(timeout=30)


@dataclass
class Studio:
    data: Path
    port: int
    pitches: dict[str, int]  # pitch text -> number
    ana: RoomProcess
    lee: RoomProcess


@pytest.fixture(scope="module")
def studio(
    tmp_path_factory: pytest.TempPathFactory, model_path: Path, embedder: Embedder
) -> Iterator[Studio]:
    """A Chroma server, a data dir whose first run ingested the sample into it, three pitches,
    and two rooms on both (the canon editors ana and lee), started in parallel."""
    base = tmp_path_factory.mktemp("studio")
    data = base / "data"
    with chroma_on_loopback(base / "server") as port:
        app = start(data, embedder, port)
        try:
            numbers = pitched(app, ASTROLABE, SEMAPHORE, HARPOON)
        finally:
            app.close()
        env = {
            "WR_DATA_DIR": str(data),
            "WR_MODEL_PATH": str(model_path),
            "WR_N_CTX": "2048",
            "WR_CHROMA_HOST": "127.0.0.1",
            "WR_CHROMA_PORT": str(port),
            "WR_TERMINAL_CANON_WRITERS": "ana,lee",
        }
        ana, lee = (RoomProcess(w, env, base / f"{w}.log") for w in ("ana", "lee"))
        try:
            ana.ready()
            lee.ready()
            texts = (ASTROLABE, SEMAPHORE, HARPOON)
            yield Studio(data, port, dict(zip(texts, numbers, strict=True)), ana, lee)
        finally:
            ana.close()
            lee.close()


def promoted(reply: str) -> set[str]:
    """The promoted files a reply cites."""
    return set(PROMOTED.findall(reply))


def test_a_canon_change_in_one_room_is_what_the_other_reads_next(studio: Studio) -> None:
    ana, lee, pitch = studio.ana, studio.lee, studio.pitches[ASTROLABE]
    for room in (ana, lee):  # both read the show first: their views are warm
        before = room.say(SEARCH)
        assert "Bible search:" in before and "astrolabe inside" not in before, before

    added = ana.say(f"/canon add {pitch}")
    assert f"Added pitch #{pitch} by sam" in added, added
    [file] = promoted(added)
    for room in (lee, ana):  # the other room's next read already has it
        found = room.say(SEARCH)
        assert file in found and "pitched by sam, approved by ana" in found, found

    undone = ana.say("/canon undo")
    assert f"Removed {file}" in undone, undone
    for room in (lee, ana):  # and the undo too: gone from both
        after = room.say(SEARCH)
        assert "Bible search:" in after and file not in after, after
        assert "astrolabe inside" not in after, after


def test_two_rooms_changing_one_show_at_once_take_turns(studio: Studio, embedder: Embedder) -> None:
    """A third process holds the show's bible folder (an ingest in progress): both rooms'
    canon adds wait for it, then for each other; both land whole, and both rooms read both."""
    ana, lee, data = studio.ana, studio.lee, studio.data
    folder = bible_folder(settings_for(data))
    before = files_of(folder)
    with holding(data):
        ana.send(f"/canon add {studio.pitches[SEMAPHORE]}")
        lee.send(f"/canon add {studio.pitches[HARPOON]}")
        time.sleep(2.0)  # time enough for either to finish, had it not waited
        assert ana.printed_since_reply() == lee.printed_since_reply() == ""
        assert files_of(folder) == before
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda room: room.reply(), (ana, lee)))
    assert all("Added pitch" in r for r in replies), replies
    files = promoted(replies[0]) | promoted(replies[1])
    assert len(files) == 2
    for room in (ana, lee):
        both = room.say(SEARCH_BOTH)
        assert files <= promoted(both), both

    app = start(data, embedder, studio.port)  # a third look, with a fresh view
    try:
        rows = app.room.services.ledger.promotions.of_show(SHOW)
        active = sorted(p.source_id for p in rows if p.undone_at is None)
        assert active == sorted([studio.pitches[SEMAPHORE], studio.pitches[HARPOON]])
        assert set(files_of(folder)) - set(SAMPLE_FILES) == files
        assert files <= set(app.bible.sections(SHOW))  # each promotion has its sections
        again = app.bible.ingest(folder, SHOW)
        assert (again.added, again.updated, again.removed) == (0, 0, 0)  # index == folder
        assert leftovers(app.settings) == [] and app.reconciled == []
    finally:
        app.close()


# ---- the same rules, one process standing in for the other where that is enough ------------
def test_a_room_told_to_wait_too_long_says_so_and_changes_nothing(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait for another process's change is bounded: past it the writer is told, in
    words that name no server path, and nothing was written."""
    data = tmp_path / "data"
    app = start(data, embedder)
    try:
        [pitch] = pitched(app, ASTROLABE)
        monkeypatch.setattr(memory.folder_lock, "WAIT_S", 0.5)
        with holding(data):
            reply = run(final_reply(app.room.handle(canon("add", str(pitch)))))
        assert reply.kind == "error" and "Someone else is changing" in reply.text, reply.text
        assert str(data) not in reply.text and "try again" in reply.text
        assert files_of(bible_folder(app.settings)) == SAMPLE_FILES
        assert app.room.services.ledger.promotions.of_show(SHOW) == []
    finally:
        app.close()


def test_an_ingest_from_another_folder_waits_for_the_shows_own_folder(
    tmp_path: Path, embedder: Embedder
) -> None:
    """`bible ingest NEW_DIR` into a show whose bots promote into its own folder: the ingest
    holds that folder's lock too, so it cannot interleave with a canon change there."""
    data = tmp_path / "data"
    start(data, embedder).close()  # the first run: the show's own folder is the copy in data
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "only.md").write_text("---\ntype: note\nname: Only\n---\n# Only\n\nOne.\n")
    bible = open_bible(Settings(_env_file=None, data_dir=data), embedder)  # type: ignore[call-arg]
    try:
        with holding(data):
            ingest = threading.Thread(target=bible.ingest, args=(elsewhere, SHOW))
            ingest.start()
            ingest.join(timeout=2)
            assert ingest.is_alive()  # waiting on the show's own folder
            assert bible.count(SHOW) > 50  # nothing of the other folder yet
        ingest.join(timeout=120)
        assert not ingest.is_alive() and bible.count(SHOW) == 1
        assert bible.source_dir(SHOW) == elsewhere.resolve()
    finally:
        bible.close()


def two_stores(settings: Settings, embedder: Embedder, port: int) -> tuple[BibleStore, ...]:
    """Two stores on one server, as two processes have: each with its own client and view."""
    remote = settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": port})
    return open_bible(remote, embedder), open_bible(remote, embedder)


def test_a_show_deleted_and_made_again_elsewhere_is_read_again(
    settings: Settings, embedder: Embedder, chroma_server: int, bible_copy: Path
) -> None:
    """Another process deletes the show's collection (its handle here goes stale) and ingests
    it again: this store reads the new one; deleted for good, the show is unknown here too."""
    a, b = two_stores(settings, embedder, chroma_server)
    try:
        a.ingest(bible_copy, SHOW)
        assert b.count(SHOW) > 50 and b.search(SHOW, "the fog bell rule")  # b's view is warm
        a._client.delete_collection(memory.bible.COLLECTION_PREFIX + SHOW)
        bell = "---\ntype: rule\nname: Bell\n---\n# Bell\n\nThe bell is made of astrolabes.\n"
        (bible_copy / "rules/bell.md").write_text(bell)
        for path in bible_copy.rglob("*.md"):
            if path.name != "bell.md":
                path.unlink()
        a.ingest(bible_copy, SHOW)
        hits = b.search(SHOW, "what is the bell made of")
        assert [h.chunk.file for h in hits] == ["rules/bell.md"] and b.count(SHOW) == 1
        a._client.delete_collection(memory.bible.COLLECTION_PREFIX + SHOW)
        with pytest.raises(UnknownShow):
            b.search(SHOW, "what is the bell made of")
    finally:
        a.close()
        b.close()


def test_a_view_read_while_another_process_changes_the_show_is_not_kept(
    settings: Settings,
    embedder: Embedder,
    chroma_server: int,
    bible_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A change that lands while this store reads the show whole: the view kept is the one
    read after it, never the mix, so the next read agrees with the other process."""
    a, b = two_stores(settings, embedder, chroma_server)
    try:
        a.ingest(bible_copy, SHOW)
        sections = a.count(SHOW)
        read = memory.bible._load_view
        landed: list[int] = []

        def overlapped(collection: object) -> object:
            view = read(collection)
            if not landed:  # the other process's change lands while this one reads
                (bible_copy / "room.md").write_text("---\ntype: note\nname: R\n---\n# R\n\nX.\n")
                landed.append(a.ingest(bible_copy, SHOW).added)
            return view

        monkeypatch.setattr(memory.bible, "_load_view", overlapped)
        b.count(SHOW)
        assert landed == [1]
        kept = b._cache[SHOW]
        assert kept.stamp == stamp_of(b._collection(SHOW)) and len(kept.chunks) == sections + 1
        assert b.count(SHOW) == a.count(SHOW) == sections + 1
    finally:
        a.close()
        b.close()


def test_a_show_part_way_through_another_process_s_ingest_is_read_as_it_was(
    settings: Settings, embedder: Embedder, chroma_server: int, bible_copy: Path
) -> None:
    """Between an ingest's start and its last write the show is half-written: a store here
    keeps serving its last whole view (and never keeps a half-written one), then reads the
    whole new one once the other process has finished."""
    a, b = two_stores(settings, embedder, chroma_server)
    try:
        a.ingest(bible_copy, SHOW)
        sections = b.count(SHOW)  # b's view, warm
        collection = a._begin(SHOW, bible_copy)  # the other process starts an ingest...
        collection.add(  # ...and has written one section of several so far
            ids=["half-written"],
            documents=["Half of a new entry."],
            embeddings=[[0.0] * 383 + [1.0]],
            metadatas=[{"file": "new.md", "heading": "New", "section": "New"}],
        )
        assert b.count(SHOW) == sections  # the last whole view
        assert b._cache[SHOW].stamp != stamp_of(b._collection(SHOW))
        b._cache.clear()  # a store with no view yet reads the half-written one once...
        assert b.count(SHOW) == sections + 1
        assert SHOW not in b._cache  # ...and does not keep it
        collection.delete(ids=["half-written"])
        (bible_copy / "room.md").write_text("---\ntype: note\nname: R\n---\n# R\n\nX.\n")
        a.ingest(bible_copy, SHOW)  # the ingest finishes whole
        assert b.count(SHOW) == a.count(SHOW) == sections + 1
        assert b._cache[SHOW].stamp == stamp_of(b._collection(SHOW))
    finally:
        a.close()
        b.close()


def test_the_embedded_store_reads_its_view_without_asking(
    settings: Settings, embedder: Embedder, bible_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One process owns an embedded store: a warm read makes no request to Chroma, so search
    there is as fast as before the revision check existed."""
    bible = open_bible(settings, embedder)
    try:
        bible.ingest(bible_copy, SHOW)
        bible.count(SHOW)
        monkeypatch.setattr(bible, "_collection", None)  # any use of it would fail
        assert bible.count(SHOW) > 50 and bible.lookup(SHOW, "Maren") is not None
    finally:
        bible.close()


def test_a_restore_on_a_server_waits_for_a_change_in_progress(
    tmp_path: Path, embedder: Embedder, chroma_server: int
) -> None:
    """With a Chroma server no store lock stops the bots, so a restore holds the bible folders
    it replaces: a canon change in progress in another process finishes first."""
    data = tmp_path / "data"
    start(data, embedder, chroma_server).close()
    remote = settings_for(data, chroma_server)
    compose.backup(remote, tmp_path / "backup")
    restore = threading.Thread(
        target=compose.restore,
        args=(remote, tmp_path / "backup"),
        kwargs={"force": True, "embedder": embedder},
    )
    with holding(data):
        restore.start()
        restore.join(timeout=2)
        assert restore.is_alive()  # waiting on the show's folder
        assert not list(data.glob(".wr-re*"))  # nothing staged or moved aside yet
    restore.join(timeout=120)
    assert not restore.is_alive()
    assert files_of(bible_folder(remote)) == SAMPLE_FILES and list(data.glob(".wr-replaced-*"))
