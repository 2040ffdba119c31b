"""A bible file's bytes into text, or a reason a writer can act on.

Bibles are UTF-8. A byte-order mark says for certain what a file is (Windows editors save
UTF-8 with one, and "Unicode" as UTF-16), so such a file is read as it says. Other bytes are
never guessed at: Latin-1 and UTF-8 read the same bytes as different letters, and a wrong
guess would put garbled names into canon without a word.
"""

from __future__ import annotations

import codecs
from pathlib import Path

# UTF-32's little-endian mark starts with UTF-16's, so it is looked for first.
_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
SAVE_AS_UTF8 = "save it as UTF-8 (in most editors: Save As, Encoding: UTF-8) and ingest again"


class UnreadableFile(Exception):
    """Why a file's text cannot be had; the parser adds the file's path in the bible."""

    def __init__(self, line: int | None, reason: str) -> None:
        self.line, self.reason = line, reason
        super().__init__(reason)


def read_bible_text(path: Path) -> str:
    """The file's text with newlines as ``\\n`` (as ``Path.read_text`` gives them)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        # strerror only: str(exc) carries the file's absolute path on this server.
        why = exc.strerror or type(exc).__name__
        raise UnreadableFile(
            None, f"the file cannot be read ({why}); check that it exists and may be read"
        ) from exc
    return decode_bible_bytes(data).replace("\r\n", "\n").replace("\r", "\n")


def decode_bible_bytes(data: bytes) -> str:
    for mark, codec, name in _MARKS:
        if data.startswith(mark):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                reason = f"it starts with a {name} mark but is not {name} text: {SAVE_AS_UTF8}"
                raise UnreadableFile(None, reason) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnreadableFile(line, f"not UTF-8 text: {SAVE_AS_UTF8}") from exc
