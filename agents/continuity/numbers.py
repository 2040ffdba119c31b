"""Numbers in prose: ages next to a name, and counts or durations with their unit.

"all two hundred passengers" against the bible's "ninety passengers", "a two-hour crossing"
against "forty minutes", "Nell, twelve" against `age: 16`: a contradiction of numbers is
one a reader can check, so it is worth finding without a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "a dozen": 12, "dozen": 12, "a hundred": 100,
}  # fmt: skip
_WORD = "|".join(sorted((re.escape(w) for w in _UNITS), key=len, reverse=True))
NUMBER = rf"(?:\d+|(?:{_WORD})(?:[- ](?:{_WORD}))?(?:\s+hundred)?)"
# What a count or a duration is of; durations are compared in minutes.
_MEASURES = {
    "passenger": ("passengers", 1),
    "car": ("cars", 1),
    "minute": ("minutes", 1),
    "hour": ("minutes", 60),
}
_UNIT = "|".join(f"{unit}s?" for unit in _MEASURES)
MEASURE_WORDS = re.compile(rf"\b(?:{_UNIT})\b", re.I)
# "two hours later" is when, not how long, and "only three cars" is tonight's load, not the
# ferry's size: neither is a measure to compare.
_HEDGED = re.compile(
    r"\b(?:only|just|barely|nearly|almost|about|around|some|over|under|than|least|most)\s+$",
    re.I,
)
_MEASURED = re.compile(
    rf"\b({NUMBER})[- ](?:\w+[- ]){{0,1}}?({_UNIT})\b"
    r"(?!\s+(?:later|after|before|ago|earlier|early|late|into|in|from|out|past|to go)\b)",
    re.I,
)
# An age stands alone after its name: "Nell, twelve, ...", "Nell is 12.", "Nell's sixteen
# and bored"; "Nell is one step ahead" is not an age.
_AGE_AFTER = re.compile(
    rf"^(?:'s|’s|,|\s+is|\s+was|\s*,?\s+aged|\s*,?\s+age)\s*({NUMBER})"
    r"(?=\s*(?:[,.;:!?)—–]|$|\s+(?:and|now|today|years?)\b))",
    re.I,
)
_AGE_BEFORE = re.compile(rf"\b({NUMBER})[- ]years?[- ]old\s+(?:\w+\s+){{0,2}}$", re.I)


def value(text: str) -> int | None:
    """'two hundred' -> 200, 'forty' -> 40, 'twenty-one' -> 21, '12' -> 12."""
    text = text.lower().strip()
    if text.isdigit():
        return int(text)
    hundred = text.endswith("hundred")
    text = text.removesuffix("hundred").strip()
    total = 0
    for part in re.split(r"[- ](?=[a-z])", text) if text else []:
        if part not in _UNITS:
            return None
        total += _UNITS[part]
    if hundred:
        total = (total or 1) * 100
    return total or None


def number_at(text: str, start: int, end: int) -> int | None:
    """An age said next to a name: 'Nell, twelve', 'Nell is 12', 'twelve-year-old Nell'."""
    after = _AGE_AFTER.match(text[end:])
    if after:
        return value(after.group(1))
    before = _AGE_BEFORE.search(text[:start])
    return value(before.group(1)) if before else None


@dataclass(frozen=True)
class Measure:
    what: str  # passengers, cars, minutes
    amount: int
    start: int


def measures(text: str) -> list[Measure]:
    found = []
    for match in _MEASURED.finditer(text):
        if _HEDGED.search(text[: match.start()]):
            continue
        amount = value(match.group(1))
        if amount is None:
            continue
        what, scale = _MEASURES[match.group(2).lower().rstrip("s")]
        found.append(Measure(what, amount * scale, match.start()))
    return found
