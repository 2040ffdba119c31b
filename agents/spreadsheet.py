"""CSV as a spreadsheet opens it, for every table the room exports (shot lists, beat sheets).

A cell a writer or the model wrote can start like a formula ('=HYPERLINK(…)', '+1',
'@SUM'): spreadsheets would run it, so it is written as text. UTF-8 with the byte-order
mark, because Excel reads a file without one as the local code page and mangles accents and
dashes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet shows as text: one that starts like a formula gets a leading
    apostrophe, as spreadsheets themselves write it."""
    return f"'{cell}" if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """A header row and the rows, each cell made safe, as UTF-8 with its byte-order mark."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")
