"""A show's revision: how processes sharing one Chroma server learn that another changed it.

Each process keeps an in-memory view of a show (sections, keyword index, entries, facts) that
costs a full read of the collection to build. On a Chroma server another process (the Slack
bot beside the Discord bot, `bible ingest` at the command line) may change the show at any
time, so before using its view a process asks the server for the collection (one small
request) and compares its stamp, the collection's id and revision, with the view's.

Every write to a show's index sets a new random revision in the collection's metadata: when
an ingest begins (with its 'ingesting' mark) and when it ends (with the mark's removal), after
its last section is written. A random value, not a counter, needs no read-modify-write, and
a collection deleted and created again has a new id, so a stale view never matches by chance.
Chroma 1.5 replaces a collection's metadata on ``modify`` (it does not merge), so every write
of the metadata carries all of it.
"""

from __future__ import annotations

import uuid
from typing import Any

REVISION_KEY = "revision"

# (collection id, revision): equal stamps mean the same index, written by the same change.
Stamp = tuple[str, str]


def new_revision() -> str:
    return uuid.uuid4().hex


def stamp_of(collection: Any) -> Stamp:
    """The stamp of a collection handle as the server last reported it."""
    return str(collection.id), str((collection.metadata or {}).get(REVISION_KEY, ""))


def is_gone(exc: BaseException) -> bool:
    """Chroma's answer for a collection that no longer exists (deleted by another process,
    perhaps created again under the same name with a new id)."""
    from chromadb.errors import NotFoundError  # loaded already: a client raised ``exc``

    return isinstance(exc, NotFoundError)
