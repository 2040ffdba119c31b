"""One bad bible file never stops an ingest: real files, real Chroma, real embeddings.

Each case broke `bible ingest` for the whole show before (an exception escaped, or Chroma
dropped or changed what the file said). Now the file is kept exactly or skipped with its path
in the bible and a reason, the rest of the show ingests, and a skipped file's last good
version stays.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.settings import Settings
from memory.bible import BibleStore, open_chroma
from memory.bible_parse import BibleFileError, Chunk, parse_bible_file
from memory.bible_write import _batches, write_chunks
from memory.embeddings import MiniLMEmbedder
from memory.episodes import Episode
from tests.conftest import SHOW

TOBY = "characters/toby_vell.md"
WREN_BODY = "# Wren Hale\n\nWren runs the ferry office at Harrowgate and keeps its ledgers.\n"


@pytest.fixture
def store(tmp_path: Path, embedder: MiniLMEmbedder) -> Iterator[BibleStore]:
    client, lock = open_chroma(tmp_path / "chroma", None, 0)
    bible = BibleStore(client, embedder, lock)
    yield bible
    bible.close()


def stored(store: BibleStore, show: str, file: str) -> dict[str, dict[str, Any]]:
    got = store._collection(show).get(where={"file": file}, include=["metadatas"])
    return dict(zip(got["ids"], got["metadatas"], strict=True))


def parsed_count(folder: Path, *leave_out: str) -> int:
    """Chunks the parser makes of the folder's files, but those left out."""
    return sum(
        len(parse_bible_file(p, p.relative_to(folder).as_posix()))
        for p in sorted(folder.rglob("*.md"))
        if p.relative_to(folder).as_posix() not in leave_out
    )


def assert_plain(error: BibleFileError, tmp_path: Path) -> None:
    """What a writer reads: the file's place in the bible, never a path of this server."""
    assert not Path(error.path).is_absolute()
    assert str(tmp_path) not in str(error) and "Traceback" not in error.reason
    assert error.reason and len(error.reason) < 400


def write_entry(folder: Path, rel: str, front: str, body: str = WREN_BODY) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{front}---\n{body}", encoding="utf-8")
    return path


# ---- unreadable files --------------------------------------------------------------------


def test_a_file_gone_while_ingesting_is_reported_and_its_last_good_version_kept(
    store: BibleStore, bible_copy: Path, tmp_path: Path
) -> None:
    store.ingest(bible_copy, SHOW)
    before = set(stored(store, SHOW, TOBY))
    assert before

    def vanish(stage: str, done: int, total: int) -> None:
        if stage == "reading" and done == 1:  # listed already, read later
            (bible_copy / TOBY).unlink()

    report = store.ingest(bible_copy, SHOW, vanish)
    (error,) = report.skipped
    assert error.path == TOBY and "cannot be read (No such file or directory)" in error.reason
    assert_plain(error, tmp_path)
    assert report.removed == 0 and set(stored(store, SHOW, TOBY)) == before
    assert report.chunks == parsed_count(bible_copy) > 50


def test_a_link_to_nowhere_is_reported_and_its_last_good_version_kept(
    store: BibleStore, bible_copy: Path, tmp_path: Path
) -> None:
    target = write_entry(tmp_path / "elsewhere", "wren.md", "type: character\nname: Wren Hale\n")
    (bible_copy / "links").mkdir()
    (bible_copy / "links/wren.md").symlink_to(target)
    store.ingest(bible_copy, SHOW)
    before = set(stored(store, SHOW, "links/wren.md"))
    assert before
    target.unlink()
    report = store.ingest(bible_copy, SHOW)
    (error,) = report.skipped
    assert error.path == "links/wren.md" and "cannot be read" in error.reason
    assert_plain(error, tmp_path)
    assert report.removed == 0 and set(stored(store, SHOW, "links/wren.md")) == before
    assert store.lookup(SHOW, "Wren Hale") is not None


@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="needs Linux's /proc")
def test_a_file_the_system_will_not_read_is_reported_even_for_root(
    store: BibleStore, bible_copy: Path, tmp_path: Path
) -> None:
    """chmod 000 stops no root (these tests may run as root); reading /proc/self/mem from its
    start fails with EIO for anyone."""
    store.ingest(bible_copy, SHOW)
    before = set(stored(store, SHOW, TOBY))
    (bible_copy / TOBY).unlink()
    (bible_copy / TOBY).symlink_to("/proc/self/mem")
    report = store.ingest(bible_copy, SHOW)
    (error,) = report.skipped
    assert error.path == TOBY and "cannot be read (Input/output error)" in error.reason
    assert "/proc" not in str(error)
    assert set(stored(store, SHOW, TOBY)) == before


# ---- encodings ---------------------------------------------------------------------------

WREN = "---\ntype: character\nname: Renée Hale\naliases: [Renée]\n---\n" + WREN_BODY


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-32"])
def test_a_file_with_a_byte_order_mark_is_read_as_it_says(
    store: BibleStore, bible_copy: Path, codec: str
) -> None:
    (bible_copy / "wren.md").write_bytes(WREN.replace("\n", "\r\n").encode(codec))
    report = store.ingest(bible_copy, SHOW)
    assert not report.skipped
    chunks = parse_bible_file(bible_copy / "wren.md", "wren.md")
    assert [c.text for c in chunks] == [WREN_BODY.split("\n\n", 1)[1].strip()]
    assert chunks[0].metadata["name"] == "Renée Hale" and "\ufeff" not in chunks[0].heading
    assert set(stored(store, SHOW, "wren.md")) == {c.id for c in chunks}


@pytest.mark.parametrize(
    ("data", "line", "needle"),
    [
        (WREN.encode("latin-1"), 3, "not UTF-8 text: save it as UTF-8"),
        (b"\xff\xfe" + b"\x00\xd8" + WREN.encode("utf-16-le"), None, "not UTF-16 text"),
    ],
    ids=["latin-1", "utf-16-half-character"],
)
def test_text_in_another_encoding_is_reported_with_its_line(
    store: BibleStore,
    bible_copy: Path,
    tmp_path: Path,
    data: bytes,
    line: int | None,
    needle: str,
) -> None:
    (bible_copy / "wren.md").write_bytes(data)
    report = store.ingest(bible_copy, SHOW)
    (error,) = report.skipped
    assert (error.path, error.line) == ("wren.md", line) and needle in error.reason
    assert_plain(error, tmp_path)
    assert report.chunks == store.count(SHOW) == parsed_count(bible_copy, "wren.md")


# ---- nesting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "front",
    [
        "a: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "a: " + "{b: " * 10_000 + "1" + "}" * 10_000 + "\n",
        "a: " + '[ "]", ' * 1000 + "]" * 1000 + "\n",  # quoted brackets hide the depth
        "a:\n" + "".join(" " * (i + 1) + "-\n" for i in range(1000)),
    ],
    ids=["list-10000-deep", "map-10000-deep", "list-1000-deep-quoted", "indented-1000-deep"],
)
def test_deeply_nested_yaml_is_reported_and_the_rest_ingests(
    store: BibleStore, bible_copy: Path, tmp_path: Path, front: str
) -> None:
    store.ingest(bible_copy, SHOW)
    before = set(stored(store, SHOW, TOBY))
    write_entry(bible_copy, TOBY, f"type: character\nname: Tobias Vell\n{front}")
    report = store.ingest(bible_copy, SHOW)
    (error,) = report.skipped
    assert error.path == TOBY and "nested too deeply" in error.reason
    assert_plain(error, tmp_path)
    assert report.chunks == parsed_count(bible_copy, TOBY) > 50
    assert set(stored(store, SHOW, TOBY)) == before  # the last good version stays
    assert store.lookup(SHOW, "Toby") is not None and store.lookup(SHOW, "Maren") is not None


@pytest.mark.parametrize(
    ("front", "line"),
    [("a: " + "[" * 33 + "]" * 33 + "\n", 4), ("loop: &x [*x]\n", 4)],
    ids=["33-deep", "refers-to-itself"],
)
def test_a_field_nested_past_any_use_is_a_file_error(tmp_path: Path, front: str, line: int) -> None:
    path = write_entry(tmp_path, "x.md", f"type: note\nname: X\n{front}")
    with pytest.raises(BibleFileError) as err:
        parse_bible_file(path, "x.md")
    assert err.value.line == line and "nested more than 32 levels" in err.value.reason
    ok = write_entry(tmp_path, "y.md", "type: note\nname: Y\na: " + "[" * 32 + "]" * 32 + "\n")
    assert parse_bible_file(ok, "y.md")[0].metadata["a"] == "[" * 31 + "]" * 31


def test_yaml_aliases_that_blow_up_are_a_file_error(tmp_path: Path) -> None:
    laughs = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9)
    )
    path = write_entry(tmp_path, "x.md", f"type: note\nname: X\n{laughs}")
    with pytest.raises(BibleFileError, match="front matter is too large"):
        parse_bible_file(path, "x.md")


def test_a_set_keeps_one_order_so_the_file_is_not_re_embedded_each_run(tmp_path: Path) -> None:
    path = write_entry(tmp_path, "x.md", "type: note\nname: X\ncast: !!set {nell, ada, maren}\n")
    assert parse_bible_file(path, "x.md")[0].metadata["cast"] == "ada|maren|nell"


# ---- values YAML reads and Python then refuses ------------------------------------------


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("aired: 2023-02-30", "(day is out of range for month)"),
        ("count: 0x_", "(invalid literal for int()"),
        ("when: !!timestamp 'soon'", "cannot be read: check its dates"),
    ],
)
def test_a_value_yaml_cannot_build_is_reported_and_the_rest_ingests(
    store: BibleStore, bible_copy: Path, tmp_path: Path, line: str, needle: str
) -> None:
    write_entry(bible_copy, "extra/wren.md", f"type: character\nname: Wren Hale\n{line}\n")
    report = store.ingest(bible_copy, SHOW)
    (error,) = report.skipped
    assert error.path == "extra/wren.md" and needle in error.reason
    assert_plain(error, tmp_path)
    assert report.chunks == store.count(SHOW) == parsed_count(bible_copy, "extra/wren.md")
    assert store.lookup(SHOW, "Wren Hale") is None


# ---- keys Chroma refuses or drops, and names the store keeps for itself ----------------


def test_keys_chroma_refuses_are_kept_under_fm_and_the_show_ingests(
    store: BibleStore, bible_copy: Path, tmp_path: Path
) -> None:
    write_entry(
        bible_copy,
        "extra/wren.md",
        'type: character\nname: Wren Hale\n"chroma:document": the pilot draft\n'
        '"chroma:note": keep\n"#document": 2\n"": empty\n"$and": [a, b]\n'
        "file: notes.txt\nalias_reveals: Bob=soon\nvisible_from: 5000\nep_count: 12\n",
    )
    report = store.ingest(bible_copy, SHOW)
    assert not report.skipped and report.files == 29
    assert report.chunks == store.count(SHOW) == parsed_count(bible_copy)
    (meta,) = stored(store, SHOW, "extra/wren.md").values()
    kept = {
        "fm_chroma:document": "the pilot draft",
        "fm_chroma:note": "keep",
        "fm_#document": 2,
        "fm_": "empty",
        "fm_$and": "a|b",
        "fm_file": "notes.txt",
        "fm_alias_reveals": "Bob=soon",
        "fm_visible_from": 5000,
        "fm_ep_count": 12,
    }
    assert {k: meta.get(k) for k in kept} == kept and meta["file"] == "extra/wren.md"
    absent = {"chroma:document", "#document", "", "$and", "alias_reveals", "visible_from"}
    assert not absent & set(meta)
    # The store's own names, written in front matter, neither hide Wren before episode 5,
    # nor give her a secret alias, nor break reading the show.
    found = store.lookup(SHOW, "Wren Hale", as_of=Episode(1, 1))
    assert found is not None and found[0].file == "extra/wren.md" and found[1]
    assert store.lookup(SHOW, "Bob") is None
    hit = store.search(SHOW, "Wren runs the ferry office at Harrowgate", k=1)[0]
    assert hit.chunk.file == "extra/wren.md"


# ---- values Chroma refuses, drops or changes ----------------------------------------------


def test_half_characters_are_joined_or_replaced_with_a_warning(
    store: BibleStore, bible_copy: Path
) -> None:
    write_entry(
        bible_copy,
        "extra/wren.md",
        'type: character\nname: "Wren \\ud83d\\ude00"\naliases: ["\\ud800x", Wren]\n'
        'note: "a \\udfff b"\n',
    )
    report = store.ingest(bible_copy, SHOW)
    assert not report.skipped
    (meta,) = stored(store, SHOW, "extra/wren.md").values()
    assert (meta["name"], meta["aliases"], meta["note"]) == (
        "Wren 😀",
        "\ufffdx|Wren",
        "a \ufffd b",
    )
    halves = [(w.path, w.line) for w in report.warnings if "half a character" in w.reason]
    assert halves == [("extra/wren.md", 4), ("extra/wren.md", 5)]  # not for the emoji's pair
    assert store.lookup(SHOW, "Wren 😀") is not None


def test_numbers_chroma_would_change_are_kept_as_their_text(
    store: BibleStore, bible_copy: Path
) -> None:
    write_entry(
        bible_copy,
        "extra/wren.md",
        "type: character\nname: Wren Hale\nage: 99999999999999999999\nweight: .nan\n"
        "height: .inf\ndebt: -.inf\nbig: 9223372036854775808\nlow: -9223372036854775809\n"
        "top: 9223372036854775807\nbottom: -9223372036854775808\n",
    )
    report = store.ingest(bible_copy, SHOW)
    assert not report.skipped
    (chunk,) = parse_bible_file(bible_copy / "extra/wren.md", "extra/wren.md")
    (meta,) = stored(store, SHOW, "extra/wren.md").values()
    assert meta == chunk.metadata  # exactly what the parser made: nothing dropped or rounded
    assert (meta["age"], meta["weight"], meta["height"], meta["debt"]) == (
        "99999999999999999999",
        "nan",
        "inf",
        "-inf",
    )
    assert (meta["big"], meta["low"]) == ("9223372036854775808", "-9223372036854775809")
    assert (meta["top"], meta["bottom"]) == (2**63 - 1, -(2**63))
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in meta.values())


def test_a_season_or_episode_beyond_any_show_is_a_warning_not_a_float(
    store: BibleStore, bible_copy: Path
) -> None:
    write_entry(
        bible_copy,
        "extra/wren.md",
        "type: character\nname: Wren Hale\nseason: 100000000000000000000\nstatus: dead\n"
        "died_in: 3\nlast_episode: 123456789012345678901234\n",
    )
    report = store.ingest(bible_copy, SHOW)
    assert not report.skipped
    (meta,) = stored(store, SHOW, "extra/wren.md").values()
    assert meta["ep_died_in"] == Episode(1, 3).ordinal  # bare numbers fall back to season 1
    assert meta["ep_last_episode"] == 999_999_999  # unreadable: what it dates stays hidden
    assert meta["season"] == "100000000000000000000"
    assert store.facts(SHOW)["extra/wren.md"].died == Episode(1, 3)
    why = {w.line: w.reason for w in report.warnings if w.path == "extra/wren.md"}
    assert "'season' must be a whole number from 0 to 99" in why[4]
    assert "is not an episode code" in why[7]


# ---- the store's own refusals, the last line ----------------------------------------------


def chunk(file: str, n: int, **meta: Any) -> Chunk:
    heading = f"{file} > part {n}"
    return Chunk(f"c_{file}_{n}", file, heading, f"text {n}", {"file": file, **meta})


def test_a_batch_the_store_refuses_is_written_again_file_by_file(store: BibleStore) -> None:
    """Metadata the parser never makes, so only the store can refuse it."""
    collection = store._collection("refusals", create=True)
    chunks = [
        chunk("a.md", 0),
        chunk("a.md", 1),
        chunk("b.md", 0, **{"#x": 1}),
        chunk("c.md", 0, note="half \ud800"),
        chunk("d.md", 0),
    ]
    seen: list[tuple[int, int]] = []
    refused = write_chunks(
        collection,
        chunks,
        np.ones((len(chunks), 384), dtype=np.float32),
        lambda stage, done, total: seen.append((done, total)),
    )
    assert [e.path for e in refused] == ["b.md", "c.md"]
    for error in refused:
        assert "the bible store refused this file" in error.reason
        assert error.reason.encode("utf-8")  # printable: no half character from the value
    got = collection.get()["ids"]
    assert sorted(got) == ["c_a.md_0", "c_a.md_1", "c_d.md_0"]
    assert seen == [(5, 5)]


def test_a_store_that_refuses_everything_keeps_every_last_good_version(
    store: BibleStore, bible_copy: Path, tmp_path: Path
) -> None:
    """An older store written with 3-number vectors refuses the embedder's 384: a real
    refusal by Chroma of every write; no file's last version may be lost to it."""
    collection = store._collection(SHOW, create=True)
    collection.upsert(
        ids=["c_old"],
        documents=["Toby's last good section"],
        metadatas=[{"file": TOBY, "heading": "Tobias Vell", "content_hash": "old"}],
        embeddings=[[0.1, 0.2, 0.3]],
    )
    report = store.ingest(bible_copy, SHOW)
    assert len(report.skipped) == report.files == 28
    assert all("dimension" in e.reason for e in report.skipped)
    for error in report.skipped:
        assert_plain(error, tmp_path)
    assert (report.chunks, report.added, report.updated, report.unchanged) == (0, 0, 0, 0)
    assert report.removed == 0 and collection.get()["ids"] == ["c_old"]


def test_write_batches_hold_whole_files() -> None:
    files = ["a"] * 3 + ["b"] * 300 + ["c"] + ["d"] * 2 + ["e"] * 260
    chunks = [chunk(f, i) for i, f in enumerate(files)]
    runs = list(_batches(chunks, 256))
    assert runs == [(0, 303), (303, 566)]
    assert list(_batches(chunks, 1)) == [(0, 3), (3, 303), (303, 304), (304, 306), (306, 566)]
    assert list(_batches([], 256)) == []


# ---- the command line --------------------------------------------------------------------


def test_cli_ingest_lists_each_skipped_file_and_loads_the_rest(
    settings: Settings, bible_copy: Path
) -> None:
    from tests.test_terminal_and_cli import cli

    write_entry(
        bible_copy, "extra/deep.md", "type: note\nname: Deep\na: " + "[" * 5000 + "]" * 5000 + "\n"
    )
    (bible_copy / "extra/gone.md").symlink_to(bible_copy / "nowhere.md")
    done = cli(settings, "bible", "ingest", str(bible_copy), "--show", "copy-show")
    assert done.returncode == 0, done.stderr
    assert "Ingested show copy-show: 30 files" in done.stderr and "2 skipped" in done.stderr
    assert "skipped extra/deep.md:2: front matter is nested too deeply" in done.stderr
    assert "skipped extra/gone.md: the file cannot be read (No such file" in done.stderr
    assert str(bible_copy) not in done.stderr and "Traceback" not in done.stderr
