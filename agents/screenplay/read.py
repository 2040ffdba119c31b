"""A script file's bytes -> ``Script``, or a message that says what is wrong with the file
and what to send instead. One door for the command line and for files attached in chat.

Checked in this order, so the cheapest refusal comes first and nothing big is parsed: the
size limit, the kind of file (by its name, then by its first bytes), the encoding (UTF-8,
UTF-16 with or without a BOM, Windows-1252; the one used is reported), the format, and
whether what was read is a script at all (a scene heading or a cue).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.inbound import MAGIC, decode, size_words
from agents.screenplay.fdx_in import FdxError, read_fdx
from agents.screenplay.fountain_in import read_fountain
from agents.screenplay.model import Kind, Script

FOUNTAIN_SUFFIXES = (".fountain", ".spmd", ".txt")
FDX_SUFFIXES = (".fdx",)
WHAT_TO_SEND = (
    "Export the script from your screenwriting app as Final Draft (.fdx) or Fountain (.fountain)."
)
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


class ScriptFileError(ValueError):
    """A script that cannot be read, in words for the writer who sent it."""


@dataclass(frozen=True)
class LoadedScript:
    script: Script
    format: str  # 'Fountain' or 'Final Draft'
    encoding: str  # as the file was read: 'UTF-8', 'UTF-16', 'Windows-1252'


def _format(name: str, data: bytes) -> str:
    lower = name.lower()
    if lower.endswith(FDX_SUFFIXES):
        return "fdx"
    if lower.endswith(FOUNTAIN_SUFFIXES):
        return "fountain"
    for magic, what in MAGIC:
        if data.startswith(magic):
            raise ScriptFileError(f"{name} looks like {what}, not a script. {WHAT_TO_SEND}")
    suffix = lower.rsplit(".", 1)[-1] if "." in lower else ""
    raise ScriptFileError(
        f"{name} is not a script file I read"
        + (f" (.{suffix})" if suffix else "")
        + f": I read .fountain and .fdx. {WHAT_TO_SEND}"
    )


def read_script(name: str, data: bytes, max_bytes: int, size: int = 0) -> LoadedScript:
    """The script in ``data`` (a file called ``name``), or ScriptFileError. ``size``: the
    file's size where only its first ``max_bytes + 1`` bytes were read."""
    size = max(size, len(data))
    if size > max_bytes:
        raise ScriptFileError(
            f"{name} is {size_words(size)}; scripts are read up to "
            f"{size_words(max_bytes)} (the WR_MAX_UPLOAD_BYTES setting). A whole feature "
            "in Fountain is under 1 MB: check that this is the script, or raise the limit."
        )
    if not data.strip():
        raise ScriptFileError(f"{name} is empty. {WHAT_TO_SEND}")
    kind = _format(name, data)
    decoded = decode(data)
    if decoded is None:
        raise ScriptFileError(
            f"{name} is not text in an encoding I can read (UTF-8, UTF-16 or Windows-1252). "
            f"{WHAT_TO_SEND}"
        )
    text, encoding = decoded
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if kind == "fdx":
        try:
            # The declaration may name an encoding the bytes were not in (a UTF-16 copy of a
            # UTF-8 file); the text is decoded already, so it is dropped.
            script = read_fdx(_DECLARATION.sub("", text, count=1))
        except FdxError as exc:
            raise ScriptFileError(f"{name} cannot be read as Final Draft: {exc}.") from exc
        shown = "Final Draft"
    else:
        if text.lstrip().startswith("<"):
            raise ScriptFileError(
                f"{name} looks like XML or HTML, not Fountain. If it is a Final Draft file, "
                "name it .fdx."
            )
        script, shown = read_fountain(text), "Fountain"
    if not any(p.kind in (Kind.HEADING, Kind.CHARACTER) for p in script.paras):
        raise ScriptFileError(
            f"{name} has no scene heading (INT. PLACE - DAY) and no character cue, so it is "
            f"not a script. {WHAT_TO_SEND}"
        )
    return LoadedScript(script, shown, encoding)
