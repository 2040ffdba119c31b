"""Splits that never break (issue 12): every part within the platform's limit, every part's
code fences balanced, no character, emoji sequence or Slack escape cut in half, and the parts
joined back giving the whole reply.

"Joined back" means, exactly: from each part take away the fence line and newline the split
put at its start (only when the cut before it fell inside a code block: the block's opening
line, or its backticks alone when that line is too long to repeat) and the newline and
closing fence it put at its end (only when the part ends inside a block); what is left of
each part is a piece of the reply as written, and the pieces with the whitespace between
them (only whitespace, and a line's indentation stays with its line) are the reply.

The property tests run WR_FUZZ_EXAMPLES examples each (200 by default, for CI;
WR_FUZZ_EXAMPLES=2000 for a long run). Fences are read here with this file's own reading,
not the splitter's: a fence line is three or more backticks after optional indentation,
with no backtick after them; inside a block, any fence line closes it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from agents.commands import Call, CommandSpec, register, unregister
from agents.llm.scripted import ScriptedBackend
from agents.messages import Reply
from bot import splits
from bot.compose import App, build_app
from bot.discord_render import LIMIT
from bot.discord_render import split as discord_split
from bot.settings import Settings
from bot.slack_render import MAX_CHARS, escape, mrkdwn
from bot.slack_render import split as slack_split
from memory.embeddings import MiniLMEmbedder
from tests.conftest import run
from tests.discord_fake import CHANNEL, bot_maker, discord_harness, interaction_payload
from tests.slack_fake import room_maker, slack_harness

EXAMPLES = int(os.environ.get("WR_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FENCE_LINE = re.compile(r"[ \t]*(`{3,})[^`]*")
WS = " \t\r\n"
SPACE = re.compile(r"[ \t\r\n]*")


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def read(state: str | None, text: str) -> str | None:
    """The opening line of the block open after ``text``'s lines, given the one before."""
    for line in text.split("\n"):
        if FENCE_LINE.fullmatch(line):
            state = None if state else line.strip(" \t\r")
    return state


def closing(opener: str, limit: int) -> str:
    run = re.match(r"`+", opener)
    assert run is not None
    return run.group() if len(run.group()) <= limit // 8 else "```"


def reopening(opener: str, limit: int) -> str:
    return opener if utf16(opener) <= limit // 8 else closing(opener, limit)


@dataclass(frozen=True)
class Text:
    """A generated reply, made of atoms: characters, and clusters and escapes that a cut
    must keep whole (a cut inside one splits what a reader sees as one character)."""

    atoms: tuple[str, ...]

    @cached_property
    def text(self) -> str:
        return "".join(self.atoms)

    @cached_property
    def inside(self) -> frozenset[int]:
        inside: set[int] = set()
        at = 0
        for atom in self.atoms:
            inside.update(range(at + 1, at + len(atom)))
            at += len(atom)
        return frozenset(inside)


def text_of(atoms: list[str] | str) -> Text:
    return Text(tuple(atoms))


def counted(parts: list[str], limit: int) -> list[str]:
    """Parts, counted in hypothesis's statistics (--hypothesis-show-statistics)."""
    event(f"limit {limit}: " + ("1 part" if len(parts) == 1 else "2-4" if len(parts) < 5 else "5+"))
    return parts


Span = tuple[int, int]


def check(reply: Text, parts: list[str], limit: int) -> list[Span]:
    """Asserts every property of the parts of ``reply``; returns the span of the reply each
    part holds (see the module's docstring for how a part is read)."""
    text = reply.text
    assert parts, "a reply gives at least one part"
    if not text.strip(WS):
        assert parts == [""]
        return []
    for i, part in enumerate(parts):
        assert utf16(part) <= limit and len(part) <= limit, (i, utf16(part))
        part.encode("utf-8")  # no lone surrogate: nothing was cut inside a code point
        assert part.strip(WS) and part[-1] not in WS and not part.startswith("\n"), repr(part)
        assert read(None, part) is None, f"part {i} leaves a code block open"
    # A closing fence the split added can read like the start of the reply's next line
    # ("```" before "``` ```"), so each part may be read two ways; the parts join back when
    # one reading of all of them, in turn, covers the reply.
    why: dict[int, str] = {}
    seen: set[tuple[int, int, str | None]] = set()
    stack: list[tuple[int, int, str | None, tuple[Span, ...]]] = [(0, 0, None, ())]
    while stack:
        i, pos, fence, spans = stack.pop()
        if i == len(parts):
            if not text[pos:].strip(WS):
                return list(spans)
            why[i] = f"the reply's end is missing: {text[pos : pos + 80]!r}"
        elif (i, pos, fence) not in seen:
            seen.add((i, pos, fence))
            for start, end, state in reversed(readings(reply, parts[i], i, pos, fence, limit, why)):
                stack.append((i + 1, end, state, (*spans, (start, end))))
    deepest = max(why)
    raise AssertionError(f"part {deepest}: {why[deepest]}")


def readings(
    reply: Text, part: str, i: int, pos: int, fence: str | None, limit: int, why: dict[int, str]
) -> list[tuple[int, int, str | None]]:
    """Each way to read ``part`` as the reply from ``pos`` on: where its piece of the reply
    starts and ends, and the block open at its end."""
    text, found = reply.text, []
    body = part
    if fence is not None:
        head = reopening(fence, limit) + "\n"
        if not part.startswith(head):
            why[i] = f"does not reopen {fence!r}: {part[:80]!r}"
            return []
        body = part[len(head) :]
    run = SPACE.match(text, pos).end() - pos  # type: ignore[union-attr]
    core, _, added = body.rpartition("\n")
    for piece, closer in ((body, None), (core, added)):
        start = next((s for s in range(pos, pos + run + 1) if text.startswith(piece, s)), None)
        if not piece or start is None:
            why[i] = f"not the reply as written: {part[:80]!r}"
            continue
        end = start + len(piece)
        state = read(fence and reopening(fence, limit), piece)
        gap = text[pos:start]
        if (state and closing(state, limit)) != closer:
            why[i] = f"closes {closer!r} with {state!r} open: {part[-80:]!r}"
        elif (
            i and "\n" in gap and not gap.endswith("\n") and len(gap.rsplit("\n")[-1]) <= limit // 4
        ):
            why[i] = f"a line's indentation was left out: {gap!r}"  # it stays with its line
        elif text[end - 1] in WS:
            why[i] = f"ends in whitespace: {part[-80:]!r}"
        elif start in reply.inside or end in reply.inside:
            why[i] = f"a character was cut in half at {start} or {end}"
        else:
            found.append((start, end, state))
    return found


# ---- generated replies -----------------------------------------------------------------------
CLUSTERS = [
    "👩\u200d👩\u200d👧\u200d👦",  # a family: a ZWJ sequence
    "🏳\ufe0f\u200d🌈",
    "👍🏽",  # a skin tone
    "🇯🇵",  # flags: pairs of regional indicators
    "🇫🇷",
    "1\ufe0f\u20e3",  # a keycap
    "e\u0301",  # e and a combining accent
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # a tag sequence
    "\u1112\u1161\u11ab",  # 한 in jamo
    "❤\ufe0f",
    "😀",
]
CJK = ["中", "文", "字", "漢", "語", "ひ", "ら", "カ", "タ", "한", "국", "。", "、", "！"]
WORDS = ["the", "Maren", "ferry", "x=1", "&", "<@U1>", "**bold**", "`code`", "a" * 30, "-"]
LANGS = ["", "python", "py", "c++", "objective-c", 'js title="x.js"']
RI = [chr(c) for c in range(0x1F1E6, 0x1F200)]


def chars(text: str) -> list[str]:
    return list(text)


def joined(lists: list[list[str]], sep: str) -> list[str]:
    out: list[str] = []
    for i, atoms in enumerate(lists):
        out += (list(sep) if i else []) + atoms
    return out


word = st.one_of(
    st.sampled_from(WORDS).map(chars),
    st.sampled_from(CLUSTERS).map(lambda c: [c]),
    st.lists(st.sampled_from(CJK), min_size=1, max_size=12),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters=RI), max_size=12).map(
        chars
    ),
)
unspaced = st.tuples(st.lists(word, min_size=1, max_size=4), st.integers(1, 300)).map(
    lambda t: [a for w in t[0] for a in w] * t[1]
)
spaced = st.tuples(st.lists(word, min_size=1, max_size=10), st.integers(1, 200)).map(
    lambda t: joined(t[0] * t[1], " ")
)
line = st.one_of(word, spaced, unspaced)
paragraph = st.lists(line, min_size=1, max_size=5).map(lambda ls: joined(ls, "\n"))
bullets = st.lists(
    st.tuples(st.sampled_from(["- ", "  - ", "1. ", "* "]), line), min_size=1, max_size=8
).map(lambda items: joined([chars(b) + ln for b, ln in items], "\n"))
info = st.one_of(st.sampled_from(LANGS), st.text("abcdefgh- ", min_size=40, max_size=600))
code_line = st.tuples(st.sampled_from(["", "    ", "        ", "\t"]), line).map(
    lambda t: chars(t[0]) + t[1]
)
fence = st.tuples(
    st.sampled_from(["```", "````", "  ```"]),
    info,
    st.lists(st.one_of(code_line, st.just([])), max_size=12),
    st.sampled_from(["```", "```", "````", " ```  ", None]),  # None: the model never closed it
).map(
    lambda t: (
        chars(t[0] + t[1].replace("`", ""))
        + ["\n"]
        + joined(t[2], "\n")
        + (chars("\n" + t[3]) if t[3] is not None else [])
    )
)
trap = st.sampled_from(
    ["``` not a fence `x`", "```inline```", "see ```python here", "``", "~~~python", "`` `"]
).map(chars)
block = st.one_of(paragraph, bullets, fence, trap)
SEPARATORS = ["\n", "\n\n", "\n\n\n", " ", "\n   \n", "\r\n", "\n\n    "]


def reply(lead: str, blocks: list[tuple[str, list[str]]], trail: str) -> Text:
    atoms = chars(lead)
    for i, (sep, atoms_of_block) in enumerate(blocks):
        atoms += (chars(sep) if i else []) + atoms_of_block
    return text_of(atoms + chars(trail))


replies = st.builds(
    reply,
    st.sampled_from(["", "\n", "  "]),
    st.lists(st.tuples(st.sampled_from(SEPARATORS), block), min_size=1, max_size=8),
    st.sampled_from(["", "\n", "\n\n "]),
)
short_words = st.tuples(
    st.lists(
        st.tuples(
            st.text("abcdefghijklmnop", min_size=1, max_size=20),
            st.sampled_from([" ", "  ", "\n", "\n\n"]),
        ),
        min_size=1,
        max_size=100,
    ),
    st.integers(1, 30),
).map(lambda t: "".join(w + s for w, s in t[0]) * t[1])


@FUZZ
@given(replies, st.sampled_from([32, 47, 80, 200, 700, LIMIT]))
def test_discord_parts_fit_keep_fences_and_join_back(reply: Text, limit: int) -> None:
    check(reply, counted(discord_split(reply.text, limit), limit), limit)


@FUZZ
@given(replies, st.sampled_from([32, 50, 120, 500, MAX_CHARS]))
def test_slack_parts_fit_after_escaping_and_never_cut_an_escape(reply: Text, limit: int) -> None:
    # Slack's text is escaped before it is split: "&amp;" counts five and is kept whole.
    escaped = Text(tuple(escape(a) for a in reply.atoms))
    assert escaped.text == escape(reply.text)
    check(escaped, counted(slack_split(escaped.text, limit), limit), limit)


@FUZZ
@given(short_words, st.sampled_from([32, 60, 200, 700]))
def test_a_word_is_never_cut_when_it_fits_in_a_part(text: str, limit: int) -> None:
    spans = check(text_of(text), counted(discord_split(text, limit), limit), limit)
    for (_, end), (start, _) in pairwise(spans):
        assert text[end:start].strip(" \n") == "" and start > end, "a word was cut"


@FUZZ
@given(replies)
def test_a_reply_that_fits_goes_as_written(reply: Text) -> None:
    trimmed = reply.text.strip(WS)
    left_open = read(None, trimmed)
    event("fits" if utf16(trimmed) < LIMIT - 10 else "longer than a part")
    if left_open is None and utf16(trimmed) <= LIMIT:
        assert discord_split(reply.text) == [trimmed or ""]
    elif left_open is not None and utf16(trimmed) + 1 + len(closing(left_open, LIMIT)) <= LIMIT:
        # A block the model never closed is closed, so the rest of the channel stays text.
        assert discord_split(reply.text) == [trimmed + "\n" + closing(left_open, LIMIT)]


# ---- the cases from the issue ----------------------------------------------------------------
def test_a_python_fence_and_a_long_line_no_longer_make_a_2006_character_part() -> None:
    text = "```python\n" + "x" * 4000 + "\n```"
    parts = discord_split(text)
    assert max(len(p) for p in parts) <= LIMIT
    assert "```python\n```" not in parts  # no empty block where the old split flushed twice
    assert all(p.startswith("```python\n") and p.endswith("\n```") for p in parts)
    assert "".join(p.removeprefix("```python\n").removesuffix("\n```") for p in parts) == "x" * 4000
    check(text_of(text), parts, LIMIT)


def test_a_long_info_string_is_not_repeated_in_every_part() -> None:
    code = "\n".join(f"print({i})" for i in range(600)) + "\n```"
    opener = "```python " + "title=" * 60  # longer than an eighth of the limit
    parts = discord_split(opener + "\n" + code)
    assert len(parts) > 2 and all(len(p) <= LIMIT for p in parts)
    assert parts[0].startswith(opener + "\nprint(0)\n")
    assert all(p.startswith("```\nprint(") for p in parts[1:])  # its backticks only
    assert opener not in "".join(parts[1:]) and "title" not in "".join(parts[1:])
    # A fence line longer than a part is cut after its language, which every part reopens.
    opener = "```python " + "title=" * 400
    parts = discord_split(opener + "\n" + code)
    assert all(len(p) <= LIMIT and p.startswith("```python\n") for p in parts)
    assert sum(p.count("title=") for p in parts) == 400
    check(text_of(opener + "\n" + code), parts, LIMIT)


def test_slack_reopens_a_cut_block_with_its_language() -> None:
    code = "\n".join(f"    beat_{i} = cue({i})  # {'&' * 3}" for i in range(200))
    text = escape(f"Here is the cue sheet:\n\n```python\n{code}\n```\n\nThat is all.")
    parts = slack_split(text)
    assert len(parts) >= 3 and all(len(p) <= MAX_CHARS for p in parts)
    assert parts[0].startswith("Here is the cue sheet:\n\n```python\n    beat_0")
    assert all(p.startswith("```python\n    beat_") for p in parts[1:])
    assert all(p.count("```") == 2 for p in parts)
    assert parts[-1].endswith("\n```\n\nThat is all.")
    assert not any(p.startswith("```python\n```") for p in parts)  # no empty block
    check(text_of(text), parts, MAX_CHARS)


def test_paragraphs_then_lines_then_words() -> None:
    para = ("The ferry leaves at dawn. " * 6).strip()
    text = "\n\n".join([para] * 60)
    parts = discord_split(text, 700)
    assert all(p.endswith("dawn.") and p.startswith("The ferry") for p in parts)
    assert all(len(p) > 350 for p in parts[:-1])  # cut at the last paragraph that fits
    one_line = "word " * 1000
    parts = discord_split(one_line, 300)
    assert all(p.endswith("word") and p.startswith("word") for p in parts)


def test_an_emoji_sequence_is_never_cut_and_an_empty_reply_is_one_part() -> None:
    family = "👩\u200d👩\u200d👧\u200d👦"
    parts = discord_split(family * 400, LIMIT)
    assert all(set(p.split(family)) == {""} for p in parts)  # whole families only
    assert all(utf16(p) <= LIMIT for p in parts) and "".join(parts) == family * 400
    assert discord_split("") == [""] and slack_split("  \n ") == [""]
    with pytest.raises(ValueError, match="cannot hold a fence"):
        splits.split("x", 10)


# ---- the adapters send what the splitter gives ---------------------------------------------
LONG = (
    "The cue sheet for act two:\n\n```python\n"
    + "\n".join(f"    cue_{i} = Bell(tone={i}, note='<fog> & {'~' * 60}')" for i in range(100))
    + "\n```\n\nThat is the act."
)


@pytest.fixture
def long_room(embedder: MiniLMEmbedder, tmp_path: Path) -> Iterator[App]:
    """A room with two throwaway commands that reply with LONG: one for the room, one for
    the asker only. The scripted backend is never called; no show is needed."""

    async def long_reply(call: Call) -> Reply:
        return Reply(kind="long", text=LONG)

    for name, private in (("cuesheet", False), ("mycues", True)):
        register(
            CommandSpec(
                name,
                "A long reply.",
                (),
                (name,),
                handler=long_reply,
                needs_show=False,
                private=private,
            )
        )
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    app = build_app(settings, engine=ScriptedBackend(), embedder=embedder)
    yield app
    app.close()
    unregister("cuesheet")
    unregister("mycues")


def joins_back(parts: list[str], whole: str, limit: int) -> None:
    check(text_of(whole), parts, limit)
    assert len(parts) >= 2 and all(len(p) <= limit for p in parts)


def sent(calls: list[dict], key: str) -> list[str]:
    """The texts of a reply's parts among the calls: those of the cue sheet."""
    return [c[key] for c in calls if "cue_" in c.get(key, "")]


def test_discord_commands_send_every_part_of_a_long_reply(long_room: App) -> None:
    async def go() -> None:
        async with discord_harness(bot_maker(long_room.room)) as h:
            h.interaction(interaction_payload("cuesheet", []))
            await h.wait_for(lambda: h.bot.replies_sent >= 1)
            h.interaction(interaction_payload("mycues", []))
            # The parts go one after another: the last one sent means all were.
            mine = lambda: sent(h.fake.named("POST", r"^/webhooks/"), "content")  # noqa: E731
            await h.wait_for(lambda: any("That is the act." in m for m in mine()))
            calls = h.fake.named("POST", rf"^/channels/{CHANNEL}/messages$")
            joins_back(sent(calls, "content"), f"*dana asked for /cuesheet*\n{LONG}", LIMIT)
            private = [w for w in h.fake.named("POST", r"^/webhooks/") if "cue_" in w["content"]]
            assert all(w["flags"] == 64 for w in private)  # the private reply stays private
            joins_back(mine(), LONG, LIMIT)
            assert not any("asked for /mycues" in c["content"] for c in calls)

    run(go())


def test_slack_commands_send_every_part_of_a_long_reply(long_room: App) -> None:
    async def go() -> None:
        async with slack_harness(room_maker(long_room.room)) as h:
            assert await h.command("cuesheet") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1)
            assert await h.command("mycues") == 200
            mine = lambda: sent(h.fake.named("respond"), "text")  # noqa: E731
            await h.wait_for(lambda: any("That is the act." in m for m in mine()))
            posts = h.fake.named("chat.postMessage")
            asked = "_dana asked:_ `/wr cuesheet`"
            joins_back(sent(posts, "text"), f"{asked}\n{mrkdwn(LONG)}", MAX_CHARS)
            assert all(p["thread_ts"] == "1001.0" for p in posts[1:])  # in the first's thread
            assert all(r["response_type"] == "ephemeral" for r in h.fake.named("respond"))
            joins_back(mine(), mrkdwn(LONG), MAX_CHARS)
            assert not any("/wr mycues" in p["text"] for p in posts)

    run(go())
