"""What `export` can write, and in which formats: names only, with no imports, so the chat
command's spec reads them without loading the writers. (The writers read the desk's result
models from the command modules, which import every command: loaded from a command at
import time they would import themselves.)"""

from __future__ import annotations

WHATS = ("beats", "wrap", "scene", "shots")
FORMATS = ("fountain", "fdx", "md", "csv")
# CSV is a table: a shot list and a beat sheet are one, a scene and a wrap-up are not.
WORKS: dict[str, tuple[str, ...]] = {
    "beats": FORMATS,
    "wrap": ("fountain", "fdx", "md"),
    "scene": ("fountain", "fdx", "md"),
    "shots": FORMATS,
}
DEFAULT_FORMAT = {"beats": "fountain", "wrap": "fountain", "scene": "fountain", "shots": "csv"}
# Fountain has no registered type and is plain text (browsers and chat previews show it);
# Final Draft files are XML, with no registered type of their own.
MIME = {
    "fountain": "text/plain",
    "fdx": "application/xml",
    "md": "text/markdown",
    "csv": "text/csv",
}
FORMAT_LABELS = {"fountain": "Fountain", "fdx": "Final Draft", "md": "Markdown", "csv": "CSV"}
LABELS = {"beats": "beat sheet", "wrap": "wrap-up", "scene": "scene", "shots": "shot list"}
