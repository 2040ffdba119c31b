"""One splitter for every chat platform's message limit, so that no platform cuts a reply
its own way: a reply is cut where a reader would cut it (paragraph, then line, then word),
never inside a character, an emoji sequence or an escape the platform needs whole, and a
code block cut in two is closed at the end of one part and reopened, with its language, at
the start of the next.

What a part is made of, exactly (the tests rely on it): the reopened fence line and a
newline when the part starts inside a code block; then a piece of the reply as written;
then a newline and a closing fence when that piece ends inside a code block. Between two
pieces only the whitespace at the cut is left out (the indentation of the next line stays,
so code keeps its shape), and so is the whitespace around the whole reply.

Fences are read line by line, as the platforms show them: a fence line is three or more
backticks after optional indentation, with no backtick after them ("```python" opens,
"```x```" is inline code). Inside a block, any fence line closes it.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

FENCE = re.compile(r"[ \t]*(`{3,})[^`]*")
SPACE = re.compile(r"[ \t\r\n]+")  # what may be left out at a cut (never a no-break space)
# A line may break between two CJK characters or after CJK punctuation (as in UAX #14).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003ffff"
CJK_BREAK = re.compile(rf"(?<=[{_CJK}\u3000-\u303f\uff01-\uff60])(?=[{_CJK}])")
MIN_LIMIT = 32  # room for a reopened fence, a closing one and some text in every part
WHITESPACE = " \t\r\n"


def units(text: str) -> int:
    """The size of ``text`` in UTF-16 code units: never fewer than its code points, so a part
    within a limit in them is within it whichever of the two a platform counts."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


@dataclass(frozen=True)
class Fence:
    """An open code block: its opening line (trimmed) and its run of backticks."""

    line: str
    run: str

    def close(self, cap: int) -> str:
        return self.run if len(self.run) <= cap else "```"

    def reopen(self, cap: int) -> str:
        # An info string too long to repeat in every part would eat the room for the code.
        return self.line if units(self.line) <= cap else self.close(cap)


def after(fence: Fence | None, line: str) -> Fence | None:
    """The code block open after ``line``, given the one open before it."""
    m = FENCE.fullmatch(line)
    if m is None:
        return fence
    return None if fence else Fence(line.strip(" \t\r"), m.group(1))


def is_fence(line: str) -> bool:
    return FENCE.fullmatch(line) is not None


def breaks_cluster(text: str, i: int) -> bool:
    """Whether a cut before ``text[i]`` would split what a reader sees as one character: a
    combining mark, a variation selector, an emoji modifier or tag, either side of a zero
    width joiner, Hangul jamo, or the second half of a flag. (A shortcut for the grapheme
    clusters of UAX #29 that covers what models write; Indic conjuncts are not covered.)"""
    if i <= 0 or i >= len(text):
        return False
    a, b = ord(text[i - 1]), ord(text[i])
    if a == 0x200D or b == 0x200D or (a == 0x0D and b == 0x0A):
        return True
    if 0xFE00 <= b <= 0xFE0F or 0xE0100 <= b <= 0xE01EF or 0xE0020 <= b <= 0xE007F:
        return True
    if 0x1F3FB <= b <= 0x1F3FF or 0x1160 <= b <= 0x11FF:
        return True
    if unicodedata.category(text[i]) in ("Mn", "Me", "Mc"):
        return True
    if _flag_half(a) and _flag_half(b):
        run = 0
        while i - run - 1 >= 0 and _flag_half(ord(text[i - run - 1])):
            run += 1
        return run % 2 == 1
    return False


def _flag_half(c: int) -> bool:
    return 0x1F1E6 <= c <= 0x1F1FF


@dataclass(frozen=True)
class Cut:
    """A cut: this part's text ends at ``end``; the next part's starts at ``resume``."""

    end: int
    resume: int
    rank: int  # 0 paragraph, 1 line, 2 word, 3 inside a word
    fence: Fence | None  # the block open at the cut, closed here and reopened after it


class Splitter:
    """Cuts one reply into parts of at most ``limit`` units. ``atoms`` matches text that
    must never be cut inside (Slack's ``&amp;`` escapes, say)."""

    def __init__(self, text: str, limit: int, atoms: re.Pattern[str] | None = None) -> None:
        if limit < MIN_LIMIT:
            raise ValueError(f"a part of fewer than {MIN_LIMIT} characters cannot hold a fence")
        self.text = text
        self.limit = limit
        self.cap = limit // 8
        self.sizes = [0]
        for c in text:
            self.sizes.append(self.sizes[-1] + (2 if ord(c) > 0xFFFF else 1))
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.inside: set[int] = set()
        for m in atoms.finditer(text) if atoms else ():
            self.inside.update(range(m.start() + 1, m.end()))

    def parts(self) -> list[str]:
        text = self.text
        start = len(text) - len(text.lstrip(WHITESPACE))
        end = len(text.rstrip(WHITESPACE))
        if start >= end:
            return [""]
        parts: list[str] = []
        pos, fence = start, None
        while True:
            head = fence.reopen(self.cap) + "\n" if fence else ""
            cut = self.cut(pos, end, fence, self.limit - units(head))
            tail = "\n" + cut.fence.close(self.cap) if cut.fence else ""
            parts.append(head + text[pos : cut.end] + tail)
            if cut.end == end:
                return parts
            pos, fence = cut.resume, cut.fence

    # ---- where to cut -----------------------------------------------------------------------
    def size(self, a: int, b: int) -> int:
        return self.sizes[b] - self.sizes[a]

    def line_of(self, i: int) -> int:
        return bisect.bisect_right(self.starts, i) - 1

    def line_end(self, line: int) -> int:
        return self.starts[line + 1] - 1 if line + 1 < len(self.starts) else len(self.text)

    def fence_at(self, pos: int, before: dict[int, Fence | None], e: int) -> Fence | None:
        """The block open at ``e``, reading this part's lines from ``pos`` (``before`` holds
        the block open before each of them)."""
        line = self.line_of(e - 1)
        return after(before[line], self.text[max(self.starts[line], pos) : e])

    def fits(self, pos: int, e: int, fence: Fence | None, room: int) -> bool:
        closing = 1 + len(fence.close(self.cap)) if fence else 0
        return self.size(pos, e) + closing <= room

    def cut(self, pos: int, end: int, fence: Fence | None, room: int) -> Cut:
        """Where this part ends: the best break that fits (see ``choose``), else a cut
        inside a word, then breaks that leave an empty block or misread a fence line, then
        cuts that split a character, as a last resort that MIN_LIMIT makes always fit."""
        text = self.text
        last = bisect.bisect_right(self.sizes, self.sizes[pos] + room) - 1  # text[pos:last] fits
        stop = min(max(last, pos + 1), end)
        before: dict[int, Fence | None] = {}
        state = fence
        for line in range(self.line_of(pos), self.line_of(min(stop, end - 1)) + 1):
            before[line] = state
            state = after(state, text[max(self.starts[line], pos) : self.line_end(line)])
        if last >= end:
            whole = self.fence_at(pos, before, end)
            if self.fits(pos, end, whole, room):
                return Cut(end, end, 3, whole)
        good: list[Cut] = []
        poor: list[Cut] = []  # cuts that leave an empty code block or misread a fence line
        for cut in self.candidates(pos, stop, before):
            if self.fits(pos, cut.end, cut.fence, room):
                (poor if self.poor(pos, cut, before) else good).append(cut)
        chosen = (
            self.choose(pos, room, good)
            or self.hard_cut(pos, stop, before, room, lambda c: not self.poor(pos, c, before))
            or self.choose(pos, room, poor)
            or self.hard_cut(pos, stop, before, room, lambda c: self.clean(pos, c))
            or self.hard_cut(pos, stop, before, room, lambda c: True)
            or self.hard_cut(pos, stop, before, room, None)
        )
        assert chosen is not None, "MIN_LIMIT leaves room for a character in every part"
        return chosen

    def candidates(self, pos: int, stop: int, before: dict[int, Fence | None]) -> list[Cut]:
        text, found = self.text, []
        for m in SPACE.finditer(text, pos, stop + 1):
            a = m.start()
            if a == pos:  # the indentation this part starts with
                continue
            b = SPACE.match(text, a)
            assert b is not None
            run = b.group()
            fence = self.fence_at(pos, before, a)
            if "\n" in run:
                resume = a + run.rfind("\n") + 1
                if b.end() - resume > self.limit // 4:  # an indentation too deep to keep
                    resume = b.end()
                paragraph = run.count("\n") >= 2 and fence is None
                found.append(Cut(a, resume, 0 if paragraph else 1, fence))
            else:
                found.append(Cut(a, b.end(), 2, fence))
        for m in CJK_BREAK.finditer(text, pos + 1, stop + 1):
            p = m.start()
            if p < stop + 1 and p not in self.inside and not breaks_cluster(text, p):
                found.append(Cut(p, p, 2, self.fence_at(pos, before, p)))
        return sorted(found, key=lambda c: c.end)

    def poor(self, pos: int, cut: Cut, before: dict[int, Fence | None]) -> bool:
        """A cut right after an opening fence or right before a closing one (an empty block
        in one part), or one inside a line that changes how a fence in it reads."""
        text, line = self.text, self.line_of(cut.end - 1)
        if cut.fence is not None:
            if before[line] is None and cut.end > self.starts[line]:
                return True  # the block opened on this part's last line
            nxt = self.line_of(cut.resume)
            if cut.resume == self.starts[nxt] and is_fence(text[cut.resume : self.line_end(nxt)]):
                return True  # the next part would open with the block's end
        return not self.clean(pos, cut)

    def clean(self, pos: int, cut: Cut) -> bool:
        """A cut inside a line keeps the line's reading: the half before it is a fence line
        only if the whole line is one, and the half after it is none."""
        text, line = self.text, self.line_of(cut.end - 1)
        first, stop = max(self.starts[line], pos), self.line_end(line)
        if cut.end >= stop:
            return True
        return is_fence(text[first : cut.end]) == is_fence(text[first:stop]) and not is_fence(
            text[cut.resume : stop]
        )

    def choose(self, pos: int, room: int, cuts: list[Cut]) -> Cut | None:
        """The last paragraph break in the second half of the room, else the last line
        break there, else any last break there; else the last line break, else the last."""
        half = room // 2
        for ranks, least in (({0}, half), ({0, 1}, half), ({0, 1, 2}, half), ({0, 1}, 0)):
            for cut in reversed(cuts):
                if cut.rank in ranks and self.size(pos, cut.end) >= least:
                    return cut
        return cuts[-1] if cuts else None

    def hard_cut(
        self,
        pos: int,
        stop: int,
        before: dict[int, Fence | None],
        room: int,
        keep: Callable[[Cut], bool] | None,
    ) -> Cut | None:
        """Inside a word: the last place that fits, splits no character or escape (unless
        ``keep`` is None, the last resort) and passes ``keep``."""
        text = self.text
        first = pos + len(text[pos:stop]) - len(text[pos:stop].lstrip(WHITESPACE)) + 1
        for p in range(stop, first - 1, -1):
            if text[p - 1] in WHITESPACE or (p < len(text) and text[p] in WHITESPACE):
                continue  # a break at whitespace is a candidate already, and fitted no better
            if keep is not None and (p in self.inside or breaks_cluster(text, p)):
                continue
            cut = Cut(p, p, 3, self.fence_at(pos, before, p))
            if self.fits(pos, p, cut.fence, room) and (keep is None or keep(cut)):
                return cut
        return None


def split(text: str, limit: int, atoms: re.Pattern[str] | None = None) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-16 units, cut as the module says; an empty
    reply is one empty part."""
    return Splitter(text, limit, atoms).parts()
