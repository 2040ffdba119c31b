"""The show bible in Chroma: ingest Markdown files, hybrid search, name/alias lookup.

One collection per show. Vectors come from our own embedder (never Chroma's default, which
downloads a model). Search fuses dense similarity with BM25 and name/alias matches, because
writers ask by nickname and by odd details as often as by meaning.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from memory.bible_parse import BibleFileError, Chunk, parse_bible_file
from memory.bible_revision import REVISION_KEY, Stamp, is_gone, new_revision, stamp_of
from memory.bible_write import write_chunks
from memory.episodes import Episode
from memory.folder_lock import hold_all
from memory.lexical import (
    Entity,
    LexicalIndex,
    NameIndex,
    normalise_name,
    phrase_coverage,
    reciprocal_rank_fusion,
    tokens,
)
from memory.progress import ProgressFn, no_progress
from memory.timeline import EntityFacts, facts_of, latest_episode, visible

COLLECTION_PREFIX = "show_"
_SHOW_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$")
SOURCE_KEY = "source_dir"
# What chunk metadata holds. 2: episode dates, reveals and secret aliases. A store written
# by an older version is re-ingested from its folder (see BibleStore.outdated).
INDEX_FORMAT = 2
FORMAT_KEY = "index_format"
# Set to the folder being read when an ingest starts, removed when it has written all: a show
# that still has it was cut off (a kill, a crash) and is finished on the next start.
INGESTING_KEY = "ingesting"
RRF_K = 60
SEARCH_LISTS = 3  # dense, keyword, names
PHRASE_MATCH = 0.8  # a section with this share of the query's phrasing is a verbatim match
# Loads of a show's view that another process's change may overlap before one is served
# uncached (an ingest changes the revision twice: at its start and at its end).
LOAD_TRIES = 3


class Embedder(Protocol):
    def embed(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray: ...


class UnknownShow(LookupError):
    """No bible has been ingested for this show."""

    def __init__(self, show: str, known: Sequence[str] | None) -> None:
        """``known``: the shows to name, or None where the reader may not learn them."""
        self.show, self.known = show, list(known or [])
        if known is None:
            super().__init__(
                f"There is no bible for the show '{show}' here. Ask whoever runs the bot to "
                "ingest it, or to link this channel to the show you work on."
            )
            return
        hint = f" Known shows: {', '.join(known)}." if known else " No show is ingested yet."
        super().__init__(
            f"There is no bible for the show '{show}'.{hint} "
            f"Load one with: writersroom bible ingest DIR --show {show}"
        )


class InvalidShowName(ValueError):
    pass


def slugify(text: str, words: int | None = None) -> str:
    """Lowercase letters and digits joined by dashes (the first ``words`` of them): safe in
    collection, file and thread names."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return "-".join(slug.split("-")[:words]) if words else slug


def show_slug(show: str) -> str:
    """A show name as writers type it -> the stable key its collection is named by."""
    slug = slugify(show)
    if not _SHOW_RE.match(slug):
        raise InvalidShowName(
            f"'{show}' is not a usable show name: use 3-50 letters, digits or dashes, "
            "like lantern-line"
        )
    return slug


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # cosine similarity of the query and the chunk, in [-1, 1]
    rank_score: float = 0.0  # what ordered the results, in [0, 1]: see ranking_score
    dense_rank: int | None = None  # position in the dense ranking, if it was there
    keyword_rank: int | None = None  # position in the BM25 ranking, if it was there
    named: bool = False  # the query named this chunk's entry (name or alias)

    def agrees(self, top: int = 5) -> bool:
        """Dense and keyword search both rank it highly: strong evidence of relevance."""
        return (
            self.dense_rank is not None
            and self.keyword_rank is not None
            and max(self.dense_rank, self.keyword_rank) < top
        )


@dataclass
class IngestReport:
    show: str
    files: int = 0
    chunks: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[BibleFileError] = field(default_factory=list)
    # Problems that leave a file usable (an episode code that cannot be read).
    warnings: list[BibleFileError] = field(default_factory=list)


def _skip_refused(
    report: IngestReport,
    refused: list[BibleFileError],
    parsed: dict[str, Chunk],
    old: dict[str, dict[str, Any]],
    stale: list[str],
) -> list[str]:
    """Files the store refused are skipped as a file that failed to parse is: out of the
    counts, and their last good version kept. Returns the stale chunks still to delete."""
    report.skipped += refused
    files = {e.path for e in refused}
    for chunk in parsed.values():
        if chunk.file in files:
            report.chunks -= 1
            if chunk.id not in old:
                report.added -= 1
            elif old[chunk.id].get("content_hash") != chunk.metadata["content_hash"]:
                report.updated -= 1
            else:
                report.unchanged -= 1
    kept = [cid for cid in stale if old[cid].get("file") not in files]
    report.removed = len(kept)
    return kept


@dataclass
class _ShowCache:
    """In-memory view of one show used for lexical search and exact lookups."""

    collection: Any
    chunks: dict[str, Chunk]
    vectors: dict[str, np.ndarray]
    lexical: LexicalIndex
    entities: list[Entity]
    by_file: dict[str, list[str]]  # file -> chunk ids in document order
    facts: dict[str, EntityFacts]  # file -> the entry's dated facts
    latest: Episode | None  # the latest episode the bible knows (read on every message)
    stamp: Stamp = ("", "")  # the collection's id and revision this view was read at
    # Keyword tokens of each chunk's text, filled as searches meet them (phrase matching).
    text_tokens: dict[str, list[str]] = field(default_factory=dict)

    # As of an episode: the entries with only the names the room may know, and their index.
    views: dict[int | None, tuple[list[Entity], NameIndex]] = field(default_factory=dict)

    def view(self, as_of: Episode | None) -> tuple[list[Entity], NameIndex]:
        """Entries and name index as of an episode: without entries the bible reveals later
        (every section hidden) and without secret aliases not yet revealed ("the
        Lamplighter" does not find Quill before S1E06)."""
        key = as_of.ordinal if as_of else None
        if key not in self.views:
            ents = [
                dataclasses.replace(e, aliases=self.facts[e.file].as_of(as_of).aliases)
                for e in self.entities
                if any(visible(self.chunks[cid], as_of) for cid in self.by_file[e.file])
            ]
            self.views[key] = (ents, NameIndex(ents))
        return self.views[key]

    def tokens_of(self, cid: str) -> list[str]:
        if cid not in self.text_tokens:
            self.text_tokens[cid] = tokens(self.chunks[cid].text)
        return self.text_tokens[cid]


def _chunk_from_record(cid: str, doc: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(cid, str(meta["file"]), str(meta["heading"]), doc, dict(meta))


def _load_view(collection: Any) -> _ShowCache:
    """A show's in-memory view, read whole from its collection (stamped with the handle's
    stamp: the caller fetched the handle just before)."""
    data = collection.get(include=["documents", "metadatas", "embeddings"])
    chunks: dict[str, Chunk] = {}
    vectors: dict[str, np.ndarray] = {}
    for cid, doc, meta, vec in zip(
        data["ids"], data["documents"], data["metadatas"], data["embeddings"], strict=True
    ):
        chunks[cid] = _chunk_from_record(cid, doc, meta)
        vectors[cid] = np.asarray(vec, dtype=np.float32)
    ordered = sorted(chunks.values(), key=lambda c: (c.file, int(c.metadata.get("chunk_index", 0))))
    lexical = LexicalIndex([c.id for c in ordered], [c.index_text for c in ordered])
    by_file: dict[str, list[str]] = {}
    for c in ordered:
        by_file.setdefault(c.file, []).append(c.id)
    # An entry's front matter is on each of its chunks: read it once, from the first.
    facts = {f: facts_of(chunks[ids[0]].metadata) for f, ids in by_file.items()}
    ents = sorted((Entity(f.name, f.type, f.file, f.aliases) for f in facts.values()), key=_ekey)
    return _ShowCache(
        collection,
        chunks,
        vectors,
        lexical,
        ents,
        by_file,
        facts,
        latest_episode(facts),
        stamp_of(collection),
    )


class BibleStore:
    """Reads and writes show bibles; safe to share between threads of one process, and, on a
    Chroma server (``shared``), between processes."""

    def __init__(
        self,
        client: Any,
        embedder: Embedder,
        store_lock: StoreLock | None = None,
        home: Path | None = None,
        shared: bool = False,
    ):
        """``home`` is the data dir: a bible folder inside it is stored relative to it (see
        ``folder_key``). ``shared``: other processes may change the store (a Chroma server),
        so every read first checks that this process's view of the show is still current
        (``memory.bible_revision``: one small request). The embedded store is this process's
        alone (``StoreLock``): its views change only here and are used without asking."""
        self._client = client
        self._embedder = embedder
        self._store_lock = store_lock
        self._home = home
        self._shared = shared
        self._lock = threading.RLock()
        self._cache: dict[str, _ShowCache] = {}

    def close(self) -> None:
        """Let another process open the embedded store. The client is closed first: Chroma
        keeps one store per folder for the whole process, and one still open would serve this
        process's next open from memory, blind to what another process wrote meanwhile."""
        with self._lock:
            self._cache.clear()
            close = getattr(self._client, "close", None)
            if close is not None:
                close()
            if self._store_lock is not None:
                self._store_lock.release()

    # ---- shows -------------------------------------------------------------------------
    def shows(self) -> list[str]:
        names = [c if isinstance(c, str) else c.name for c in self._client.list_collections()]
        return sorted(n[len(COLLECTION_PREFIX) :] for n in names if n.startswith(COLLECTION_PREFIX))

    def has_show(self, show: str) -> bool:
        return show_slug(show) in self.shows()

    def _collection(self, show: str, create: bool = False, ingesting: str = "") -> Any:
        slug = show_slug(show)
        name = COLLECTION_PREFIX + slug
        if create:  # an existing collection's metadata is left as it is (Chroma 1.5)
            marks = {INGESTING_KEY: ingesting} if ingesting else {}
            return self._client.get_or_create_collection(
                name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"show": slug, **marks, REVISION_KEY: new_revision()},
            )
        try:
            return self._client.get_collection(name, embedding_function=None)
        except Exception as exc:
            if is_gone(exc):
                raise UnknownShow(slug, self.shows()) from None
            raise

    # ---- ingest ------------------------------------------------------------------------
    def ingest(
        self, directory: Path, show: str, progress: ProgressFn = no_progress
    ) -> IngestReport:
        """Bring the show's collection in line with the folder; bad files are reported.

        The folder's lock (``memory.folder_lock``) is held throughout, so another process's
        promotion cannot land between this reading the folder and deleting what it lacks; and
        so is the lock of the folder the show was last ingested from, where that is another
        (`bible ingest NEW_DIR` while a bot promotes into the old one): every change to one
        show waits for the one before, whichever folder each reads."""
        if not directory.is_dir():
            return self._sync(directory, show, progress)  # says that the folder is missing
        while True:
            folders = self._folders(show, directory)
            with hold_all(folders):
                if self._folders(show, directory) == folders:  # else another ingest moved it
                    return self._sync(directory, show, progress)

    def _folders(self, show: str, directory: Path) -> set[Path]:
        """The folders whose locks an ingest of ``directory`` into the show holds."""
        try:
            source = self.source_dir(show)
        except UnknownShow:
            source = None
        both = {directory, *([source] if source is not None and source.is_dir() else [])}
        return {f.resolve() for f in both}

    def _sync(self, directory: Path, show: str, progress: ProgressFn) -> IngestReport:
        slug = show_slug(show)
        if not directory.is_dir():
            raise FileNotFoundError(f"No bible folder at {directory}")
        # A link to nowhere is listed too: it is reported and its last good version kept.
        files = sorted(p for p in directory.rglob("*.md") if p.is_file() or p.is_symlink())
        if not files:  # almost always the wrong folder; syncing to it would empty the bible
            raise FileNotFoundError(f"No .md files in {directory}; nothing was changed.")
        report = IngestReport(show=slug, files=len(files))
        parsed: dict[str, Chunk] = {}
        good_files: set[str] = set()
        for i, path in enumerate(files):
            rel = path.relative_to(directory).as_posix()
            progress("reading", i + 1, len(files))
            try:
                for chunk in parse_bible_file(path, rel, report.warnings):
                    parsed[chunk.id] = chunk
                good_files.add(rel)
            except BibleFileError as exc:
                report.skipped.append(exc)
        report.chunks = len(parsed)

        with self._lock:
            collection = self._begin(slug, directory)
            existing = collection.get(include=["metadatas"])
            old = {
                cid: (meta or {})
                for cid, meta in zip(existing["ids"], existing["metadatas"] or [], strict=False)
            }
            changed = [
                c
                for c in parsed.values()
                if old.get(c.id, {}).get("content_hash") != c.metadata["content_hash"]
            ]
            # Chunks of a file that failed to parse stay: the last good version is still canon.
            skipped_files = {e.path for e in report.skipped}
            stale = [
                cid
                for cid, meta in old.items()
                if cid not in parsed and meta.get("file") not in skipped_files
            ]
            report.added = sum(1 for c in changed if c.id not in old)
            report.updated = len(changed) - report.added
            report.unchanged = len(parsed) - len(changed)
            report.removed = len(stale)

            vectors = self._embed_with_progress([c.embed_text for c in changed], progress)
            refused = write_chunks(collection, changed, vectors, progress)
            if refused:
                stale = _skip_refused(report, refused, parsed, old, stale)
            if stale:
                collection.delete(ids=stale)
            # only once it is all written
            self._finish(collection, slug, folder_key(directory, self._home))
            self._cache.pop(slug, None)
        return report

    def changing(self, show: str, directory: Path) -> None:
        """Mark the show as not matching its folder until the next ingest of it finishes. A
        change to the folder (a promotion written or removed) calls this first, so a kill
        between the change and that ingest leaves a show the next start ingests again."""
        with self._lock:
            self._begin(show_slug(show), directory)

    def _begin(self, slug: str, directory: Path) -> Any:
        """The show's collection, marked as being ingested from ``directory`` before anything
        is written to it (a new one is created with the mark), so a kill from here on leaves
        a show the next start knows to finish, and from which folder."""
        folder = folder_key(directory, self._home)  # like the source folder: moves with home
        collection = self._collection(slug, create=True, ingesting=folder)
        meta = dict(collection.metadata or {})
        if meta.get(INGESTING_KEY) != folder:  # a new revision: other processes' views reload
            collection.modify(
                metadata={**meta, INGESTING_KEY: folder, REVISION_KEY: new_revision()}
            )
        return collection

    @staticmethod
    def _finish(collection: Any, slug: str, folder: str) -> None:
        """The ingest wrote everything: its mark goes, last, with a new revision (so another
        process's view read meanwhile is read again).

        The folder a show was last ingested from is its bible: promotions into canon are
        written there, so the files stay the source of truth and re-ingest keeps them. The
        index format says what the chunks' metadata holds. Chroma replaces the metadata whole
        on ``modify``: this is all of it."""
        collection.modify(
            metadata={
                "show": slug,
                SOURCE_KEY: folder,
                FORMAT_KEY: INDEX_FORMAT,
                REVISION_KEY: new_revision(),
            }
        )

    def interrupted(self) -> dict[str, Path]:
        """Shows whose last ingest did not finish, each with the folder it was reading. They
        are listed and searchable (with what that ingest had written) until the next start
        ingests them again (``bot.compose.refresh_outdated``)."""
        found = {}
        with self._lock:
            for show in self.shows():
                key = (self._collection(show).metadata or {}).get(INGESTING_KEY)
                folder = folder_of(str(key), self._home) if key else None
                if folder is not None:
                    found[show] = folder
        return found

    def outdated(self) -> list[str]:
        """Shows ingested by an older version, whose chunks lack what this one reads (such as
        reveals): as of an episode, nothing in them would be hidden."""
        return [
            show
            for show in self.shows()
            if (self._collection(show).metadata or {}).get(FORMAT_KEY) != INDEX_FORMAT
        ]

    def source_dir(self, show: str) -> Path | None:
        """The show's bible folder, if this store knows it (shows ingested since it did)."""
        with self._lock:
            folder = (self._collection(show).metadata or {}).get(SOURCE_KEY)
        return folder_of(str(folder), self._home) if folder else None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for query-time text (questions, sentences), from the bible's own embedder."""
        return self._embedder.embed(list(texts))

    def _embed_with_progress(self, texts: list[str], progress: ProgressFn) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return self._embedder.embed(texts, lambda done, total: progress("embedding", done, total))

    # ---- reading -----------------------------------------------------------------------
    def _show_cache(self, show: str) -> _ShowCache:
        """This process's view of the show. On a shared store it is first checked against the
        collection's stamp (one request), and read again when another process changed the
        show or deleted and recreated it."""
        slug = show_slug(show)
        cached = self._cache.get(slug)
        if cached is not None and not self._shared:
            return cached
        collection = self._collection(slug)  # UnknownShow when it is gone
        if cached is not None and cached.stamp == stamp_of(collection):
            return cached
        if cached is not None and _mid_ingest(collection):
            # Another process is part-way through changing the show: the last whole view
            # serves until it has finished, rather than a half-written one.
            return cached
        with self._lock:
            return self._reload(slug, collection)

    def _reload(self, slug: str, collection: Any) -> _ShowCache:
        """Read the show whole. On a shared store the stamp is read again afterwards: a view
        is kept only if no change began or ended while it was read, so a kept view is never a
        mix of two revisions. One read overlapped by changes each time is served once, not
        kept; the next read tries again."""
        cached = self._cache.get(slug)  # another thread may have read it while this waited
        if cached is not None and cached.stamp == stamp_of(collection):
            return cached
        view: _ShowCache | None = None
        current = collection
        for _ in range(LOAD_TRIES):
            try:
                view = _load_view(collection)
            except Exception as exc:
                if not (self._shared and is_gone(exc)):
                    raise
                view = None  # deleted since the check, and perhaps created again
            if not self._shared:
                break
            current = self._collection(slug)  # UnknownShow when it is gone for good
            if view is not None and stamp_of(current) == view.stamp:
                break
            collection = current
        else:
            self._cache.pop(slug, None)
            return view or _load_view(collection)
        assert view is not None
        if self._shared and _mid_ingest(current):
            return view  # read while another process writes: served once, never kept
        self._cache[slug] = view
        return view

    def named_in(self, show: str, text: str, as_of: Episode | None = None) -> list[Entity]:
        """Bible entries the text names by name or alias (as of an episode)."""
        return self._show_cache(show).view(as_of)[1].find(text)

    def chunk(self, show: str, chunk_id: str) -> Chunk | None:
        return self._show_cache(show).chunks.get(chunk_id)

    def count(self, show: str) -> int:
        return len(self._show_cache(show).chunks)

    def entities(
        self, show: str, entry_type: str | None = None, as_of: Episode | None = None
    ) -> list[Entity]:
        """Entries of a type; as of an episode, only those introduced by then."""
        cache = self._show_cache(show)
        return [
            e
            for e in cache.view(as_of)[0]
            if (entry_type is None or e.type == entry_type)
            and cache.facts[e.file].introduced_by(as_of)
        ]

    def facts(self, show: str, as_of: Episode | None = None) -> dict[str, EntityFacts]:
        """Each entry's dated facts from its front matter, by file, as a room breaking
        ``as_of`` may know them."""
        return {f: facts.as_of(as_of) for f, facts in self._show_cache(show).facts.items()}

    def sections(self, show: str, as_of: Episode | None = None) -> dict[str, list[Chunk]]:
        """Each entry's sections in document order, as of an episode."""
        cache = self._show_cache(show)
        return {
            file: [c for c in (cache.chunks[cid] for cid in ids) if visible(c, as_of)]
            for file, ids in cache.by_file.items()
        }

    def latest_episode(self, show: str) -> Episode | None:
        return self._show_cache(show).latest

    def search(self, show: str, query: str, k: int = 5, as_of: Episode | None = None) -> list[Hit]:
        """Hybrid search: dense (Chroma) + BM25 + name/alias, fused by reciprocal rank. As of
        an episode, sections revealed later are never candidates."""
        cache = self._show_cache(show)
        if not cache.chunks or not query.strip():
            return []
        qvec = self._embedder.embed([query])[0]
        pool = max(4 * k, 20)
        cache, dense = self._dense(show, cache, qvec, pool)
        lexical = [cid for cid, _ in cache.lexical.search(query, pool)]
        names = cache.view(as_of)[1]
        named = [cid for e in names.find(query) for cid in cache.by_file.get(e.file, [])]
        fused = reciprocal_rank_fusion([dense, lexical, named], k=RRF_K)
        asked = tokens(query)
        ranked = {
            cid: ranking_score(value, phrase_coverage(asked, cache.tokens_of(cid)))
            for cid, value in fused.items()
            if cid in cache.chunks and visible(cache.chunks[cid], as_of)
        }
        best = sorted(ranked.items(), key=lambda kv: kv[1], reverse=True)[:k]
        dense_pos = {cid: i for i, cid in enumerate(dense)}
        keyword_pos = {cid: i for i, cid in enumerate(lexical)}
        named_set = set(named)
        return [
            Hit(
                cache.chunks[cid],
                float(np.dot(cache.vectors[cid], qvec)),
                score,
                dense_pos.get(cid),
                keyword_pos.get(cid),
                cid in named_set,
            )
            for cid, score in best
        ]

    def _dense(
        self, show: str, cache: _ShowCache, qvec: np.ndarray, pool: int
    ) -> tuple[_ShowCache, list[str]]:
        """Chroma's nearest sections, and the view they belong with: on a shared store the
        collection may be deleted (and created again) between the view's check and the query,
        and the view is then read again once."""
        for retry in (False, True):
            try:
                result = cache.collection.query(
                    query_embeddings=[qvec.tolist()], n_results=min(pool, len(cache.chunks))
                )
                return cache, list(result["ids"][0])
            except Exception as exc:
                if retry or not (self._shared and is_gone(exc)):
                    raise
                self._cache.pop(show_slug(show), None)
                cache = self._show_cache(show)
        raise AssertionError("unreachable")

    def lookup(
        self, show: str, name: str, entry_type: str | None = None, as_of: Episode | None = None
    ) -> tuple[Entity, list[Chunk]] | None:
        """Exact match on a name or alias (case and 'the' ignored).

        Names are not unique across types (an arc may share a character's alias), so a
        wanted type wins first, then a match on the entry's own name over an alias.
        """
        cache = self._show_cache(show)
        wanted = normalise_name(name)
        if not wanted:
            return None
        matches = [
            (
                entity.type != entry_type if entry_type else False,
                normalise_name(entity.name) != wanted,
                entity,
            )
            for entity in cache.view(as_of)[0]
            if any(normalise_name(n) == wanted for n in entity.names)
        ]
        if not matches:
            return None
        entity = min(matches, key=lambda m: (m[0], m[1]))[2]
        chunks = [cache.chunks[cid] for cid in cache.by_file[entity.file]]
        return entity, [c for c in chunks if visible(c, as_of)]

    def nearest_names(
        self,
        show: str,
        name: str,
        entry_type: str | None = None,
        n: int = 3,
        as_of: Episode | None = None,
    ) -> list[str]:
        ents = self.entities(show, entry_type, as_of)
        table = {normalise_name(alias): e.name for e in ents for alias in e.names}
        close = difflib.get_close_matches(normalise_name(name), list(table), n=n * 2, cutoff=0.5)
        seen: list[str] = []
        for key in close:
            if table[key] not in seen:
                seen.append(table[key])
        if len(seen) < n:
            for hit in self.search(show, name, k=8, as_of=as_of):
                if as_of is not None and not (hit.named or hit.keyword_rank is not None):
                    continue  # by meaning alone, a secret name could point at its owner
                cand = str(hit.chunk.metadata.get("name", ""))
                ctype = hit.chunk.metadata.get("type")
                if cand and cand not in seen and (entry_type is None or ctype == entry_type):
                    seen.append(cand)
        return seen[:n]


def _mid_ingest(collection: Any) -> bool:
    """Does the collection carry an ingest's start mark (set until its last write)?"""
    return bool((collection.metadata or {}).get(INGESTING_KEY))


def folder_key(directory: Path, home: Path | None) -> str:
    """How a show's bible folder is stored: relative to the data dir (``home``) when it lies
    inside it, so a data dir moved or restored to another path still finds its folders (canon
    add writes there); an absolute path otherwise."""
    folder = directory.resolve()
    if home is not None and folder.is_relative_to(home.resolve()):
        return folder.relative_to(home.resolve()).as_posix()
    return str(folder)


def folder_of(key: str, home: Path | None) -> Path | None:
    """A stored folder read back: a relative one against this data dir; an absolute one (all
    that older versions wrote) as it is. Relative with no data dir to resolve against: None."""
    path = Path(key)
    if path.is_absolute():
        return path
    return None if home is None else home.resolve() / path


def ranking_score(fused: float, phrase: float) -> float:
    """One score in [0, 1] that orders search results, so the score a writer sees is the one
    that ranked them. A section holding the query's own phrasing comes first (0.9 and up),
    because a writer who types a line from the bible wants that line; the rest follow by
    fused rank (agreement of meaning, keywords and names), scaled below 0.9."""
    if phrase >= PHRASE_MATCH:
        return 0.9 + 0.1 * phrase
    return 0.9 * min(1.0, fused / (SEARCH_LISTS / RRF_K))


def is_relevant(hits: Sequence[Hit], threshold: float) -> bool:
    """Does the bible speak to this query? A named entry, a strong dense match, or dense and
    keyword search agreeing. Dense similarity alone does not separate on-topic questions
    from unrelated ones well enough with MiniLM (measured on the sample show)."""
    return any(h.named or h.score >= threshold or h.agrees() for h in hits)


def _ekey(entity: Entity) -> tuple[str, str]:
    return entity.type, entity.name


class StoreBusy(RuntimeError):
    """Another process owns the embedded bible store."""


class StoreLock:
    """An exclusive lock on an embedded Chroma folder, held for the life of the process.

    Chroma's PersistentClient is thread-safe but not process-safe: a second process (say,
    `bible ingest` while the terminal room is open) could corrupt the store. The second one
    is refused with a message instead.
    """

    def __init__(self, folder: Path) -> None:
        import fcntl

        folder.mkdir(parents=True, exist_ok=True)
        self._file = (folder / "writersroom.lock").open("a")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.close()
            raise StoreBusy(
                f"Another writersroom process is using the bible store in {folder}. Stop it "
                "first, or run a Chroma server for both (see WR_CHROMA_HOST in .env.example)."
            ) from None

    def release(self) -> None:
        if not self._file.closed:
            self._file.close()  # closing the file drops the lock


def open_chroma(path: Path | None, host: str | None, port: int) -> tuple[Any, StoreLock | None]:
    """Embedded PersistentClient by default; a Chroma server when a host is configured."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if host:
        return chromadb.HttpClient(host=host, port=port, settings=settings), None
    assert path is not None
    lock = StoreLock(path)
    return chromadb.PersistentClient(path=str(path), settings=settings), lock
