"""Chunks into a show's Chroma collection, whole files at a time, so that a file the store
refuses costs that file only.

The parser gives Chroma nothing it is known to refuse (memory/bible_fields.py); this is the
last line for what it may refuse tomorrow. A refused batch is written again file by file,
and a file refused on its own is reported and left out. A batch never splits a file: half
a file written would be neither its last good version nor its new one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from memory.bible_parse import BibleFileError, Chunk
from memory.progress import ProgressFn

WRITE_BATCH = 256  # chunks per upsert, at least one whole file
log = logging.getLogger(__name__)


def write_chunks(
    collection: Any, chunks: Sequence[Chunk], vectors: np.ndarray, progress: ProgressFn
) -> list[BibleFileError]:
    """Upsert ``chunks`` (in file order, with their vectors); returns the files refused."""
    from chromadb.errors import InvalidArgumentError  # chromadb loads slowly; only here

    # What Chroma raises for a record it will not take (a key, a value, a string).
    refusal = (ValueError, TypeError, InvalidArgumentError)
    refused: list[BibleFileError] = []
    for start, end in _batches(chunks, WRITE_BATCH):
        try:
            _upsert(collection, chunks, vectors, start, end)
        except refusal:
            for first, last in _batches(chunks[start:end], 1):
                try:
                    _upsert(collection, chunks, vectors, start + first, start + last)
                except refusal as exc:
                    refused.append(_refused(chunks[start + first].file, exc))
        progress("writing", end, len(chunks))
    return refused


def _batches(chunks: Sequence[Chunk], size: int) -> Iterator[tuple[int, int]]:
    """(start, end) of runs of whole files, each run at least ``size`` chunks but the last."""
    start = 0
    for i in range(1, len(chunks) + 1):
        if i == len(chunks) or (i - start >= size and chunks[i].file != chunks[i - 1].file):
            yield start, i
            start = i


def _upsert(collection: Any, chunks: Sequence[Chunk], vectors: np.ndarray, a: int, b: int) -> None:
    part = chunks[a:b]
    collection.upsert(
        ids=[c.id for c in part],
        documents=[c.text for c in part],
        metadatas=[c.metadata for c in part],
        embeddings=vectors[a:b],
    )


def _refused(file: str, exc: Exception) -> BibleFileError:
    # Chroma's first line says what it refused; it names no server path.
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    log.warning("the bible store refused %s: %s", file, detail)
    return BibleFileError(
        file,
        None,
        f"the bible store refused this file ({detail}): check its front-matter names and "
        "values, then ingest again; its last good version is kept",
    )
