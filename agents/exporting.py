"""Export: the latest beat sheet, wrap-up, scene or shot list a thread holds, as a file for
the writers' own tools (Fountain, Final Draft, Markdown, CSV).

Shared by the chat command and `writersroom export`: both find the stored result here and
write it here, so a file made in chat and one made at the command line are the same bytes.
Nothing here calls the model or writes anything: a result is read as it was stored (the
thread's history for beats, scenes and shots; the ideas ledger for a brainstorm's wrap-up)
and written out by code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ValidationError

from agents.commands.scene import SceneDraft
from agents.commands.shots import COLUMNS, ShotList, as_csv, rows
from agents.desk import file_slug
from agents.errors import BadRequest
from agents.export_choices import (
    FORMAT_LABELS,
    LABELS,
    MIME,
    WORKS,
)
from agents.messages import Attachment
from agents.schemas import BeatSheet, WrapUp
from agents.screenplay.fdx_out import write_fdx
from agents.screenplay.fountain_out import write_fountain
from agents.screenplay.from_results import (
    beats_csv,
    beats_script,
    scene_script,
    shots_script,
    wrap_script,
)
from agents.screenplay.markdown_out import markdown_table, write_markdown
from agents.screenplay.model import Script
from memory.brainstorm_log import BrainstormLog
from memory.history import ConversationKey, HistoryStore
from memory.ledger_file import Brainstorm

HISTORY_KINDS = ("beats", "scene", "shots")  # kept in the thread's history; wraps in the ledger
_MODELS: dict[str, type[BaseModel]] = {"beats": BeatSheet, "scene": SceneDraft, "shots": ShotList}

Result = BeatSheet | WrapUp | SceneDraft | ShotList


class UnusableFormat(BadRequest):
    """A format that does not fit what is exported (a scene as CSV): a usage error."""


@dataclass(frozen=True)
class Stored:
    """A result found to export: what it is, the result, when it was made, and whether a
    beat sheet came with a wrap-up."""

    what: str
    result: Result
    at: float
    from_wrap: bool = False


def check_format(what: str, fmt: str) -> None:
    if fmt not in WORKS[what]:
        works = ", ".join(WORKS[what])
        raise UnusableFormat(
            f"A {LABELS[what]} cannot be exported as {fmt}: CSV is for tables (shot lists and "
            f"beat sheets). For a {LABELS[what]}, use {works}. Nothing was exported."
        )


def _read(kind: str, data: str) -> Result:
    try:
        found = _MODELS[kind].model_validate_json(data)
    except ValidationError:
        raise BadRequest(
            f"The thread's latest {LABELS[kind]} was kept by an older version of the room and "
            "cannot be read back. Make it again, then export it. Nothing was exported."
        ) from None
    assert isinstance(found, BeatSheet | SceneDraft | ShotList)
    return found


def _from_wrap(log: BrainstormLog, bs: Brainstorm, what: str | None) -> Stored | None:
    """The brainstorm's latest wrap-up (or, for beats, the beat sheet it holds)."""
    wrap = log.latest_wrap(bs.id)
    if wrap is None:
        return None
    try:
        up = WrapUp.model_validate({**wrap.data, "wrap": wrap.id})
    except ValidationError:
        raise BadRequest(
            "The brainstorm's latest wrap-up was kept by an older version of the room and "
            "cannot be read back. Wrap up again, then export it. Nothing was exported."
        ) from None
    if what == "beats":
        sheet = up.beat_sheet
        return None if sheet is None else Stored("beats", sheet, wrap.created_at, from_wrap=True)
    return Stored("wrap", up, wrap.created_at)


def latest(
    history: HistoryStore,
    log: BrainstormLog | None,
    show: str,
    keys: Sequence[ConversationKey],
    brainstorm: Brainstorm | None,
    what: str | None,
) -> Stored | None:
    """The newest result of ``what`` (any of them when None) in the first of ``keys`` that
    has one: the thread, then the writer's own command history in the channel. A brainstorm's
    wrap-up counts in its own thread, and its beat sheet as the thread's beats when newer."""
    kinds = [what] if what in HISTORY_KINDS else [] if what == "wrap" else list(HISTORY_KINDS)
    for n, key in enumerate(keys):
        found: list[Stored] = []
        record = history.latest_record(key, show, kinds)
        if record is not None:
            found.append(Stored(record.kind, _read(record.kind, record.result), record.created_at))
        wraps = n == 0 and what in (None, "wrap", "beats")
        if wraps and log is not None and brainstorm is not None and brainstorm.show == show:
            up = _from_wrap(log, brainstorm, what)
            if up is not None:
                found.append(up)
        if found:
            return max(found, key=lambda s: s.at)
    return None


# A chat thread as links name it ('slack:C123/1700.1'): platform, channel, thread.
THREAD_LINK = re.compile(r"^(?P<platform>[a-z]+):(?P<channel>[^/\s]+)/(?P<thread>\S+)$")


def find_thread(
    history: HistoryStore,
    log: BrainstormLog | None,
    show: str,
    thread: str,
    local: ConversationKey,
) -> tuple[ConversationKey, Brainstorm | None]:
    """The conversation a thread's name gives, and the brainstorm it holds: a brainstorm's
    link as the ledger keeps it, a chat thread as 'platform:channel/thread' (whose workspace
    the history knows), else ``local``, the terminal thread of that name."""
    for bs in log.brainstorms(show) if log is not None else []:
        key = bs.key
        if thread in (bs.link, f"{key.platform}:{key.channel}/{key.thread}"):
            return key, bs
    named = THREAD_LINK.match(thread)
    if named is None:
        return local, log.brainstorm(local) if log is not None else None
    keys = history.conversations(named["platform"], named["channel"], named["thread"])
    if len(keys) > 1:
        where = ", ".join(k.workspace for k in keys)
        raise BadRequest(
            f"'{thread}' names a thread in {len(keys)} workspaces ({where}), and export cannot "
            "tell which one you mean. Nothing was exported."
        )
    if not keys:
        return local, None
    return keys[0], log.brainstorm(keys[0]) if log is not None else None


def nothing_to_export(what: str | None, prefix: str, addressed_as: str = "@bot") -> str:
    """Which commands make something this can export."""
    makes = {
        "beats": f"{prefix}beats PREMISE (or, in a brainstorm, `{addressed_as} wrap beats`)",
        "wrap": f"`{addressed_as} wrap` in a brainstorm thread",
        "scene": f"{prefix}scene PREMISE",
        "shots": f"{prefix}shots (after a scene, or with an episode's section)",
    }
    if what is not None:
        return (
            f"There is no {LABELS[what]} in this thread to export. Make one with {makes[what]}, "
            "then export it. Nothing was exported."
        )
    return (
        "There is nothing in this thread to export yet. Export takes a beat sheet "
        f"({makes['beats']}), a wrap-up ({makes['wrap']}), a scene ({makes['scene']}) or a "
        f"shot list ({makes['shots']}). Nothing was exported."
    )


# ---- writing the file ---------------------------------------------------------------------
def script_of(stored: Stored) -> Script:
    result = stored.result
    if isinstance(result, BeatSheet):
        return beats_script(result)
    if isinstance(result, WrapUp):
        return wrap_script(result)
    if isinstance(result, SceneDraft):
        return scene_script(result)
    return shots_script(result)


def file_data(stored: Stored, fmt: str) -> bytes:
    check_format(stored.what, fmt)
    result = stored.result
    if fmt == "csv":
        return beats_csv(result) if isinstance(result, BeatSheet) else as_csv(_shots(result))
    if fmt == "md" and isinstance(result, ShotList):
        text = markdown_table(f"Shot list: {result.source}", COLUMNS, rows(result))
        return text.encode("utf-8")
    script = script_of(stored)
    if fmt == "fdx":
        return write_fdx(script)
    text = write_markdown(script) if fmt == "md" else write_fountain(script)
    return text.encode("utf-8")


def _shots(result: Result) -> ShotList:
    assert isinstance(result, ShotList)  # check_format lets CSV through for these two only
    return result


def file_name(stored: Stored, fmt: str) -> str:
    result = stored.result
    if isinstance(result, BeatSheet):
        stem = f"beats-{file_slug(result.premise, 'sheet')}"
    elif isinstance(result, WrapUp):
        stem = f"wrap-{file_slug(result.topic, 'brainstorm')}"
    elif isinstance(result, SceneDraft):
        stem = f"scene-{file_slug(result.premise, 'draft')}"
    else:
        stem = f"shots-{file_slug(result.source, 'scene')}"
    return f"{stem}.{fmt}"


def attachment(stored: Stored, fmt: str) -> Attachment:
    return Attachment(
        name=file_name(stored, fmt),
        mime=MIME[fmt],
        data=file_data(stored, fmt),
        title=f"{LABELS[stored.what].capitalize()} ({FORMAT_LABELS[fmt]})",
    )


# ---- saying what was exported -------------------------------------------------------------
def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def contents(stored: Stored) -> str:
    """How much the file holds: beats, pitches, lines of dialogue, shots."""
    r = stored.result
    if isinstance(r, BeatSheet):
        return f"{_count(len(r.beats), 'beat', 'beats')}, {r.structure}"
    if isinstance(r, WrapUp):
        said = (
            f"{_count(len(r.decisions), 'decision', 'decisions')}, "
            f"{_count(len(r.top_pitches), 'top pitch', 'top pitches')}, "
            f"{_count(len(r.open_questions), 'open question', 'open questions')}"
        )
        if r.beat_sheet is not None:
            said += f" and a beat sheet of {_count(len(r.beat_sheet.beats), 'beat', 'beats')}"
        return said
    if isinstance(r, SceneDraft):
        return f"1 scene, {_count(len(r.lines), 'line', 'lines')} of dialogue"
    return f"{_count(len(r.shots), 'shot', 'shots')} in {_count(len(r.scenes), 'scene', 'scenes')}"


def when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def described(stored: Stored, fmt: str, name: str) -> str:
    """What was exported, for after the word 'Exported': "the thread's scene from
    2026-11-24 03:12 UTC (1 scene, 5 lines of dialogue) as Final Draft: scene-x.fdx"."""
    what = (
        "the beat sheet of the brainstorm's wrap-up"
        if stored.from_wrap
        else f"the thread's {LABELS[stored.what]}"
    )
    return f"{what} from {when(stored.at)} ({contents(stored)}) as {FORMAT_LABELS[fmt]}: {name}"
