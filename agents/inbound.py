"""Files writers attach for the bot to read: the text of one, or why it cannot be read.

Adapters download an attachment (up to the upload limit) into an ``Inbound``; this module
turns it into text, or into a message for the writer. A command whose free text is empty
reads the one attached file instead (``with_attached``): a command marks the parameter a
file fills (``Param.reads_file``: doctor's and translate's TEXT, shots' SCENE, arc's and
synopsis's TARGET, continuity's TEXT), and needs no code of its own. A name, a topic or a
query never takes a file.

Text is UTF-8 (a BOM is dropped), UTF-16 (with a BOM, or without one where every other
byte is NUL), or, failing UTF-8, Windows-1252 (what Word and older Windows tools save),
accepted only where the result has no control characters. Anything else (an image, a PDF,
a Word file, bytes with NULs) is refused with what it looks like and what to attach instead.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agents.errors import BadRequest
from agents.messages import Inbound

if TYPE_CHECKING:  # the command registry imports this module
    from agents.commands.spec import CommandSpec, Param

DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024 * 1024
NOTHING_SAVED = "Nothing was saved."
WHAT_TO_ATTACH = "attach a .fountain, .txt or .md file, or paste the text."

# Leading bytes of the binary files writers most often attach by mistake.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "an image (PNG)"),
    (b"\xff\xd8\xff", "an image (JPEG)"),
    (b"GIF87a", "an image (GIF)"),
    (b"GIF89a", "an image (GIF)"),
    (b"%PDF-", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive (a Word .docx or Final Draft package is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Word or Office file"),
    (b"{\\rtf", "an RTF document"),
)
# C0 controls (tab, line feed, form feed and carriage return are text), DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def size_words(n: int) -> str:
    """A byte count as a writer reads it: '4,097 bytes', '14 KB', '6.2 MB'."""
    if n < 10 * 1024:
        return f"{n:,} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def _not_text(name: str, what: str) -> BadRequest:
    return BadRequest(f"{name} looks like {what}, not text: {WHAT_TO_ATTACH} {NOTHING_SAVED}")


def too_big(name: str, size: int, max_bytes: int) -> BadRequest:
    return BadRequest(
        f"{name} is {size_words(size)}; the room reads attached files up to "
        f"{size_words(max_bytes)}. Attach a smaller part (a scene or an episode), or paste "
        f"the part that matters. {NOTHING_SAVED}"
    )


def _utf16_order(data: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' for UTF-16 text saved without a BOM (Windows tools do):
    mostly-ASCII text then has a NUL in every other byte, on one side only."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2].count(0), data[1::2].count(0)
    half = len(data) // 2
    if odd > 0.3 * half and even == 0:
        return "utf-16-le"
    if even > 0.3 * half and odd == 0:
        return "utf-16-be"
    return None


def decode(data: bytes) -> tuple[str, str] | None:
    """(text, the encoding it was read as) by a BOM, else as UTF-8, else as UTF-16 without
    a BOM, else as Windows-1252; None where no reading gives text without control
    characters (an image, a binary file)."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif b"\x00" in data:
        order = _utf16_order(data)
        if order is None:
            return None  # binary: NULs that are not UTF-16's
        candidates = [order]
    else:
        candidates = ["utf-8", "cp1252"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not _CONTROL.search(text) and (encoding != "cp1252" or _plausibly_western(text)):
            return text, ENCODING_NAMES[encoding]
    return None


_LATIN1_LETTER = re.compile(r"[\u00c0-\u00ff]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
# Signs Windows-1252 puts where another code page had letters ('£ukasz', 'by³'): a pound
# sign, superscript or fraction glued to a letter. Inverted marks, guillemets, the degree
# and ordinal signs are left out: '¿Qué', '«Non»', 'Nº 5' are ordinary text.
_GLUED_SIGN = re.compile(
    r"(?<=[^\W\d_])[\u00a2-\u00a9\u00ac-\u00af\u00b1-\u00b9\u00bc-\u00be]"
    r"|[\u00a2-\u00a9\u00ac-\u00af\u00b1-\u00b9\u00bc-\u00be](?=[^\W\d_])"
)
_FEW_LETTERS = 20  # too few to judge by proportion ('été', 'À côté')


def _plausibly_western(text: str) -> bool:
    """Windows-1252 reads any bytes; text in another code page comes out as runs of
    accented letters ('Ìàðèíà', from Cyrillic) or signs glued to letters ('£ukasz', from
    Polish). Western European text has a few accented letters among many plain ones and no
    such signs, so anything else is refused, not guessed."""
    if _GLUED_SIGN.search(text):
        return False
    accented = len(_LATIN1_LETTER.findall(text))
    letters = accented + len(_ASCII_LETTER.findall(text))
    return letters < _FEW_LETTERS or accented <= 0.25 * letters


ENCODING_NAMES = {
    "utf-8-sig": "UTF-8",
    "utf-8": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
    "cp1252": "Windows-1252",
}


def text_of(inbound: Inbound, max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> str:
    """The text of an attached file (line endings made '\\n'), or a BadRequest that says
    what is wrong with it and what to attach instead."""
    name = inbound.name or "The attached file"
    size = max(inbound.size, len(inbound.data or b""))
    if size > max_bytes:
        raise too_big(name, size, max_bytes)
    if inbound.error:
        raise BadRequest(f"I could not read {name}: {inbound.error}. {NOTHING_SAVED}")
    data = inbound.data or b""
    if not data.strip():
        raise BadRequest(f"{name} is empty: {WHAT_TO_ATTACH} {NOTHING_SAVED}")
    for magic, what in MAGIC:
        if data.startswith(magic):
            raise _not_text(name, what)
    decoded = decode(data)
    if decoded is None:
        raise _not_text(name, "a binary file (or text in an encoding I cannot read)")
    text = decoded[0].replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise BadRequest(f"{name} is empty: {WHAT_TO_ATTACH} {NOTHING_SAVED}")
    return text


def one_file(files: Sequence[Inbound], max_bytes: int) -> str | None:
    """The text of the one file a message carries; None without files. A message may carry
    one file for a command to read: more is refused, naming them."""
    if not files:
        return None
    if len(files) > 1:
        names = ", ".join(f.name for f in files)
        raise BadRequest(
            f"You attached {len(files)} files ({names}); a command reads one at a time. "
            f"Send them one per message. {NOTHING_SAVED}"
        )
    return text_of(files[0], max_bytes)


def text_param(spec: CommandSpec) -> Param | None:
    """The parameter an attached file fills: the one the command marks ``reads_file``."""
    return next((p for p in spec.params if p.reads_file), None)


def with_attached(
    spec: CommandSpec, values: dict[str, Any], attached: str | None
) -> dict[str, Any]:
    """``values`` with the attached file's text as the command's free text. A command that
    takes no text, or free text given as well as a file, is refused rather than one of the
    two being dropped without a word."""
    if attached is None:
        return values
    param = text_param(spec)
    if param is None:
        raise BadRequest(
            f"'{spec.name}' does not read attached files. Send it without the file, or use "
            f"a command that takes text (try: help). {NOTHING_SAVED}"
        )
    given = values.get(param.name)
    if isinstance(given, str) and given.strip():
        raise BadRequest(
            f"'{spec.name}' read both your {param.name.upper()} and an attached file: it "
            f"takes one or the other. Send the file with just '{spec.name}', or the text "
            f"without the file. {NOTHING_SAVED}"
        )
    return {**values, param.name: attached}
