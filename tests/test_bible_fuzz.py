"""Generated front matter never stops an ingest (hypothesis, real Chroma, real embeddings).

Each example is a bible of two files: a good one whose sections are known, and one whose
front matter is generated (keys Chroma refuses or drops, the store's own names, values of
every YAML type, big numbers, NaN, half characters, deep nesting, values YAML cannot build)
and whose bytes are in a generated encoding. Whatever the file holds, the ingest returns;
the good file is all there and found; the generated file is either stored exactly as the
parser made it or skipped with its path in the bible and a reason, never both.

CI runs WR_FUZZ_EXAMPLES examples (60 by default); a full run is WR_FUZZ_EXAMPLES=500.
"""

from __future__ import annotations

import codecs
import itertools
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from memory.bible import COLLECTION_PREFIX, BibleStore, open_chroma
from memory.bible_parse import ENTRY_TYPES, BibleFileError, parse_bible_file
from memory.embeddings import MiniLMEmbedder
from memory.episodes import Episode

EXAMPLES = int(os.environ.get("WR_FUZZ_EXAMPLES", "60"))
GOOD = (
    "---\ntype: location\nname: Harrowgate Light\naliases: [the Light]\n---\n"
    "# Harrowgate Light\n\n## The lamp room\n"
    "The lamp room smells of paraffin and salt; the keeper winds the clockwork every dusk.\n\n"
    "## The chapel\n"
    "A small chapel stands below the tower, with a bell that rings only in fog.\n"
)
GEN_BODY = "# Entry\n\n## Notes\nThe generated entry keeps a tide table for the harbour.\n"
# Keys Chroma refuses or drops, the store's own names, and fields the parser reads.
NASTY_KEYS = [
    "chroma:document", "chroma:note", "#document", "#", "", "$and", "$", "file", "heading",
    "text", "content_hash", "chunk_index", "visible_from", "alias_reveals", "ep_died_in",
    "fm_file", "season", "died_in", "reveal", "first_episode", "last_episode", "episode",
    "status", "resigned_in", "met_in", "age", "role", "aliases", "status_before",
]  # fmt: skip
CODES = ["S1E04", "107", "1x05", "episode 3", "S2E01", "soon", "Wren {reveal: S1E06}", "dead"]
INT64 = range(-(2**63), 2**63)
# Lines YAML reads but the store cannot keep or Python cannot build: what each must give.
INJECTED = {
    "none": ("", None),
    "deep-ok": ("deep: " + "[" * 32 + "]" * 32 + "\n", None),
    "deep-33": ("deep: " + "[" * 33 + "]" * 33 + "\n", "nested more than 32"),
    "deep-10000": ("deep: " + "[" * 10_000 + "]" * 10_000 + "\n", "nested too deeply"),
    "map-10000": ("deep: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n", "nested too deeply"),
    "quoted-1000": ("deep: " + '[ "]", ' * 1000 + "]" * 1000 + "\n", "nested too deeply"),
    "indent-1000": (
        "deep:\n" + "".join(" " * (i + 1) + "-\n" for i in range(1000)),
        "nested too deeply",
    ),
    "self": ("loop: &x [*x]\n", "refers to itself"),
    "laughs": (
        "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9)),
        "too large",
    ),
    "bad-date": ("aired: 2023-02-30\n", "day is out of range"),
    "bad-hex": ("count: 0x_\n", "cannot be read"),
    "bad-tag": ("when: !!timestamp 'soon'\n", "cannot be read"),
    "half": ('note: "\\ud800 and \\ude00"\n', None),
    "pair": ('emoji: "\\ud83d\\ude00"\n', None),
    "set": ("cast: !!set {b, a}\n", None),
    "binary": ("blob: !!binary aGk=\n", None),
}
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-32", "utf-16-le", "latin-1", "cp1252"]
_MARKS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]

# Any character, halves of UTF-16 pairs included (YAML writes them as \uD800 escapes).
text = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
keys = st.one_of(
    st.sampled_from(NASTY_KEYS), text, st.integers(), st.booleans(), st.none(), st.dates()
).filter(lambda k: k not in ("type", "name"))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**90),
    st.integers(min_value=-(2**90), max_value=-(2**63) + 1),
    st.floats(),
    text,
    st.text(max_size=3000),
    st.sampled_from(CODES),
    st.dates(),
    st.datetimes(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=12,
)


@dataclass(frozen=True)
class Case:
    entry_type: object
    name: str
    extra: dict[Any, Any]
    injected: str
    encoding: str
    unicode_yaml: bool

    def front_matter(self) -> str:
        data = {"type": self.entry_type, "name": self.name, **self.extra}
        dumped = yaml.safe_dump(data, allow_unicode=self.unicode_yaml, sort_keys=False)
        return dumped + INJECTED[self.injected][0]

    def text(self) -> str:
        return f"---\n{self.front_matter()}---\n{GEN_BODY}"

    def data(self) -> bytes:
        return self.text().encode(self.encoding, errors="replace")


cases = st.builds(
    Case,
    entry_type=st.sampled_from([*ENTRY_TYPES * 3, "villain", 3, None]),
    name=text.map(lambda s: s + " Hale"),
    extra=st.dictionaries(keys, values, max_size=6),
    # Half the examples inject nothing: generated keys and values alone must ingest.
    injected=st.one_of(st.just("none"), st.sampled_from(sorted(INJECTED))),
    encoding=st.sampled_from(ENCODINGS),
    unicode_yaml=st.booleans(),
)


def decoded(data: bytes) -> str | None:
    """How the bytes read by the rule the store promises: a byte-order mark, else UTF-8."""
    for mark, codec in _MARKS:
        if data.startswith(mark):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def expected_skip(case: Case) -> set[str] | None:
    """Phrases one of which the reason must hold if the file must be skipped; None if it must
    be ingested; an empty set if this test does not say (the bytes read as other text)."""
    read = decoded(case.data())
    if read is None:
        return {"UTF-8", "UTF-16", "UTF-32"}
    if read.replace("\r\n", "\n") != case.text():
        return set()  # Latin-1 bytes that are UTF-8 too, or a UTF-16 file without a mark
    reasons = set()
    if INJECTED[case.injected][1]:
        reasons.add(INJECTED[case.injected][1])
    if case.entry_type not in ENTRY_TYPES:
        reasons.add("'type' must be one of")
    if "aliases" in case.extra and not isinstance(case.extra["aliases"], str | list):
        reasons.add("'aliases' must be a list")
    return reasons or None


def same(stored: dict[str, dict[str, Any]], parsed: dict[str, dict[str, Any]]) -> bool:
    """Equal, but that Chroma may round a float by a unit in its last place (6.00581e+28 comes
    back as 6.005809999999999e+28): its own float text, not anything the parser can help."""

    def close(a: object, b: object) -> bool:
        if isinstance(a, float) and isinstance(b, float) and not isinstance(a, bool):
            return abs(a - b) <= 2 * math.ulp(max(abs(a), abs(b)))
        return a == b and type(a) is type(b)

    return stored.keys() == parsed.keys() and all(
        stored[cid].keys() == parsed[cid].keys()
        and all(close(stored[cid][k], v) for k, v in parsed[cid].items())
        for cid in parsed
    )


def storable(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value in INT64
    return isinstance(value, str | bool) and (
        not isinstance(value, str) or not any("\ud800" <= c <= "\udfff" for c in value)
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, embedder: MiniLMEmbedder) -> Iterator[Any]:
    """One Chroma store for the run; each example has a show of its own."""
    folder = tmp_path_factory.mktemp("fuzz")
    client, lock = open_chroma(folder / "chroma", None, 0)
    bible = BibleStore(client, embedder, lock)
    yield bible, client, folder
    bible.close()


_shows = itertools.count()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=cases)
def test_generated_front_matter_never_stops_an_ingest(store: Any, case: Case) -> None:
    bible, client, root = store
    show = f"fuzz-{next(_shows):05d}"
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        folder = Path(tmp)
        (folder / "good.md").write_text(GOOD, encoding="utf-8")
        (folder / "gen").mkdir()
        (folder / "gen/entry.md").write_bytes(case.data())
        try:
            check(bible, show, folder, case)
        finally:
            if bible.has_show(show):
                client.delete_collection(COLLECTION_PREFIX + show)


def check(bible: BibleStore, show: str, folder: Path, case: Case) -> None:
    report = bible.ingest(folder, show)  # no exception escapes, whatever the file holds
    good = parse_bible_file(folder / "good.md", "good.md")
    try:
        gen = parse_bible_file(folder / "gen/entry.md", "gen/entry.md")
    except BibleFileError:
        gen = []
    records = bible._collection(show).get(include=["metadatas", "documents"])
    by_file: dict[str, dict[str, dict[str, Any]]] = {}
    for cid, meta in zip(records["ids"], records["metadatas"], strict=True):
        by_file.setdefault(meta["file"], {})[cid] = meta

    # The good file: every section stored as parsed, and found by its own words.
    assert [e.path for e in report.skipped] in ([], ["gen/entry.md"])
    assert by_file["good.md"] == {c.id: c.metadata for c in good}
    for section in good:
        hits = bible.search(show, section.text, k=3)
        assert hits and hits[0].chunk.id == section.id
    assert bible.lookup(show, "the Light") is not None
    # Reading the show back (names, dated facts, reveals) copes with whatever was stored.
    assert "good.md" in bible.facts(show, Episode(1, 3))
    assert "Harrowgate Light" in [e.name for e in bible.entities(show, "location", Episode(1, 3))]
    assert len(bible.sections(show, Episode(1, 3))["good.md"]) == len(good)

    skipped = [e for e in report.skipped if e.path == "gen/entry.md"]
    stored = by_file.get("gen/entry.md", {})
    want = expected_skip(case)
    if skipped:  # reported, readable, and nothing of it stored
        (error,) = skipped
        event(f"skipped: {error.reason.split(':')[0][:40]}")
        assert not stored and not gen  # the parser refused it: the store never had to
        assert error.reason.strip() and len(error.reason) < 600 and "Traceback" not in error.reason
        assert str(folder) not in str(error)
        assert want is not None, f"skipped a file that must ingest: {error}"
        assert not want or any(phrase in error.reason for phrase in want), error.reason
    else:  # stored exactly as the parser made it, in what Chroma keeps as it is
        event(f"ingested ({case.encoding})")
        assert not want, f"ingested a file that must be skipped for {want}"
        assert gen and same(stored, {c.id: c.metadata for c in gen})
        for meta in stored.values():
            for key, value in meta.items():
                assert key and not key.startswith(("#", "$", "chroma:")), key
                assert storable(value), (key, value)
    assert report.chunks == bible.count(show) == len(good) + len(stored)
    assert all(not Path(w.path).is_absolute() for w in report.warnings)
