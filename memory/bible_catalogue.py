"""Which shows an embedded bible store holds, and where their folders are, read from Chroma's
own SQLite catalogue without opening Chroma.

A running bot holds the embedded store (``StoreLock``), and a second Chroma client on it
could corrupt it; a backup must still learn which folders to copy. A read-only SQLite query
takes no part in Chroma's writes. The two tables read (``collections`` and
``collection_metadata``) have kept this shape since Chroma 0.4.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from memory.bible import COLLECTION_PREFIX, SOURCE_KEY, folder_of

CATALOGUE = "chroma.sqlite3"


class CatalogueUnreadable(RuntimeError):
    """The store's catalogue could not be read (not a Chroma store, or a newer layout)."""


def shows_in_store(chroma: Path, home: Path | None) -> dict[str, Path | None]:
    """Each show in the store and its bible folder (None where the store never knew it),
    resolved against the data dir ``home`` as ``BibleStore.source_dir`` does."""
    path = chroma / CATALOGUE
    if not path.is_file():
        return {}
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute(
            "SELECT c.name, m.str_value FROM collections c LEFT JOIN collection_metadata m"
            " ON m.collection_id = c.id AND m.key = ?",
            (SOURCE_KEY,),
        ).fetchall()
    except sqlite3.Error as exc:
        raise CatalogueUnreadable(
            f"The bible store's catalogue could not be read ({exc}); stop the bot and try "
            "again, or report it with the Chroma version installed."
        ) from None
    finally:
        db.close()
    return {
        str(name)[len(COLLECTION_PREFIX) :]: folder_of(str(key), home) if key else None
        for name, key in sorted(rows)
        if str(name).startswith(COLLECTION_PREFIX)
    }
