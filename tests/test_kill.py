"""kill -9 loses nothing: real processes (tests/kill_child.py) killed with SIGKILL.

Each trial starts a child on its own data dir, waits for it to say ``ready`` (the operation
begins), sleeps a delay drawn from a seeded RNG across the operation's duration (measured on
a clean run first) and kills it. Then this process starts the room on what is left (the next
start: it must open) and runs the same operation again, and the result must be the clean
run's: the same sections in the index, the same files, the same promotions in effect, and no
temporary files. ``WR_KILL_TRIALS`` (default 5, so ``make test`` stays under ten minutes;
more for a release) and ``WR_KILL_SEED`` change the trials.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agents.messages import Reply, final_reply
from bot.compose import App
from memory.bible import Embedder
from tests.conftest import run
from tests.crash_state import SAMPLE_FILES, State, leftovers, seeded, start, state_of
from tests.kill_child import REPO, SHOW, canon

TRIALS = int(os.environ.get("WR_KILL_TRIALS", "5"))
SEED = int(os.environ.get("WR_KILL_SEED", "1206"))
LIMIT_S = 300  # a child that says nothing for this long has hung: the test fails, not waits


class Child:
    """A tests/kill_child.py process; its stdout lines arrive on a queue with their time."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.kill_child", *args],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.lines: list[str] = []
        self.done_at: float | None = None  # when it said ``done``, if it did
        self._queue: queue.Queue[tuple[float, str | None]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put((time.monotonic(), line.strip()))
        self._queue.put((time.monotonic(), None))

    def wait_for(self, prefix: str) -> tuple[float, str]:
        """The time the first line starting with ``prefix`` arrived, and the line."""
        while True:
            try:
                at, line = self._queue.get(timeout=LIMIT_S)
            except queue.Empty:
                self.proc.kill()
                pytest.fail(f"the child said nothing for {LIMIT_S} s; it said {self.lines}")
            if line is None:
                self.proc.wait()
                stderr = self.proc.stderr.read() if self.proc.stderr else ""
                pytest.fail(f"the child ended before '{prefix}': {self.lines}\n{stderr[-3000:]}")
            self._note(at, line)
            if line.startswith(prefix):
                return at, line

    def _note(self, at: float, line: str) -> None:
        self.lines.append(line)
        if line.startswith("done"):
            self.done_at = at

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill(self) -> list[str]:
        """SIGKILL it (if it has not finished); everything it said."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        while (got := self._queue.get(timeout=LIMIT_S))[1] is not None:
            self._note(got[0], str(got[1]))
        for pipe in (self.proc.stdin, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        return self.lines


def measured(child: Child) -> tuple[float, str]:
    """Seconds from ``ready`` to ``done`` on a clean run, and its ``done`` line."""
    began, _ = child.wait_for("ready")
    ended, line = child.wait_for("done")
    child.kill()
    return ended - began, line


@dataclass
class Trials:
    """Kill trials: a run that finished before its kill is no trial and is not counted."""

    killed_at: Counter[str] = field(default_factory=Counter)  # last stage reported, per kill
    problems: list[str] = field(default_factory=list)
    finished_first: int = 0

    @property
    def killed(self) -> int:
        return sum(self.killed_at.values())


def kill_trials(
    name: str,
    make: Callable[[Path], Child],
    converge: Callable[[Path], str | None],
    where: Callable[[list[str]], str],
    tmp_path: Path,
    duration: float,
) -> Trials:
    """Kill TRIALS runs part-way; ``converge`` gives each one's problem, or None. A run that
    finishes before its kill is dropped, and the kills aim within its (shorter) duration."""
    rng = random.Random(SEED)
    trials = Trials()
    for attempt in range(3 * TRIALS):
        if trials.killed == TRIALS:
            break
        data = tmp_path / f"{name}-{attempt}"
        child = make(data)
        began, _ = child.wait_for("ready")
        time.sleep(rng.uniform(0.0, duration))
        lines = child.kill()
        if child.done_at is not None:
            trials.finished_first += 1
            duration = min(duration, child.done_at - began)
            continue
        trials.killed_at[where(lines)] += 1
        try:
            problem = converge(data)
        except Exception as exc:  # the store did not open, or the re-run failed
            problem = f"{type(exc).__name__}: {exc}"
        if problem is not None:
            trials.problems.append(f"run {attempt} (killed {where(lines)}): {problem}")
    return trials


def report(capsys: pytest.CaptureFixture[str], name: str, trials: Trials, took: float) -> None:
    with capsys.disabled():
        print(
            f"\n{name} kill trials: {trials.killed}, converged: "
            f"{trials.killed - len(trials.problems)} (seed {SEED}; last stage reported before "
            f"the kill: {dict(sorted(trials.killed_at.items()))}; {trials.finished_first} more "
            f"runs finished before their kill, not counted; {took:.0f} s)"
        )


# ---- the first run: copy the sample, ingest it ---------------------------------------------
def ingest_stage(lines: list[str]) -> str:
    stages = [line.split()[1] for line in lines if line.startswith("stage")]
    return f"while {stages[-1]}" if stages else "before reading"


def test_the_first_run_survives_kill_9_at_random_points(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.monotonic()
    duration, _ = measured(Child("start", str(tmp_path / "clean")))
    reference = start(tmp_path / "clean", embedder)
    clean = state_of(reference)
    reference.close()
    assert clean.files == SAMPLE_FILES and clean.sections > 50 and clean.active == []

    def converge(data: Path) -> str | None:
        app = start(data, embedder)  # the next start: the store opens, the show is finished
        try:
            got, left = state_of(app), leftovers(app.settings)
            if got != clean or left:
                return f"after the next start: {got.sections} sections, leftovers {left}"
            if app.bible.interrupted():
                return f"still marked unfinished: {app.bible.interrupted()}"
        finally:
            app.close()
        again = start(data, embedder)  # and the start after that has nothing left to do
        try:
            if again.report or again.refreshed or state_of(again) != clean:
                return "a second start changed the show again"
        finally:
            again.close()
        return None

    trials = kill_trials(
        "start", lambda d: Child("start", str(d)), converge, ingest_stage, tmp_path, duration
    )
    report(capsys, "ingest", trials, time.monotonic() - began)
    assert trials.killed == TRIALS and trials.problems == []


# ---- canon add, add, undo --------------------------------------------------------------------
def canon_stage(lines: list[str]) -> str:
    replies = sum(1 for line in lines if line.startswith("reply"))
    return ("in add 1", "in add 2", "in undo", "after undo")[replies]


def say(app: App, action: str, target: str = "") -> Reply:
    return run(final_reply(app.room.handle(canon(action, target))))


def rerun(app: App, pitches: list[str]) -> str | None:
    """The same canon add, add, undo again; an add already in effect is refused, nothing
    else is."""
    for pitch in pitches:
        added = say(app, "add", pitch)
        if added.kind != "canon" and "already in the" not in added.text:
            return f"canon add {pitch} was refused: {added.text}"
    undone = say(app, "undo")
    return None if undone.kind == "canon" else f"canon undo was refused: {undone.text}"


def undo_all(app: App) -> State:
    """Undo until nothing is left: what every promotion in effect reaches."""
    while say(app, "undo").kind == "canon":
        pass
    return state_of(app)


def test_canon_add_and_undo_survive_kill_9_at_random_points(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.monotonic()
    pitches = seeded(tmp_path / "clean", embedder)
    duration, _ = measured(Child("canon", str(tmp_path / "clean"), *pitches))
    reference = start(tmp_path / "clean", embedder)
    clean = state_of(reference)
    sample = undo_all(reference)
    reference.close()
    assert [(kind, number) for kind, number, _ in clean.active] == [("pitch", int(pitches[0]))]
    assert sample.files == SAMPLE_FILES and sample.active == []

    def converge(data: Path) -> str | None:
        app = start(data, embedder)  # the next start: the store opens, canon is settled
        try:
            problem = rerun(app, pitches)
            if problem:
                return problem
            got, left = state_of(app), leftovers(app.settings)
            if got != clean or left:
                return f"after the re-run: {got}, leftovers {left} (clean: {clean})"
            if undo_all(app) != sample:
                return "undo did not reach everything that was canon"
        finally:
            app.close()
        return None

    def make(data: Path) -> Child:
        seeded(data, embedder)
        return Child("canon", str(data), *pitches)

    trials = kill_trials("canon", make, converge, canon_stage, tmp_path, duration)
    report(capsys, "canon add/undo", trials, time.monotonic() - began)
    assert trials.killed == TRIALS and trials.problems == []


# ---- kills at the two steps that matter, every time -------------------------------------------
def killed_at(step: str, tmp_path: Path, embedder: Embedder) -> tuple[App, list[str]]:
    """A child killed at ``step`` during canon add, add, undo; then the next start."""
    data = tmp_path / "data"
    pitches = seeded(data, embedder)
    child = Child("canon", str(data), *pitches, "--die-at", step)
    child.wait_for("ready")
    child.proc.wait()
    assert child.proc.returncode == -signal.SIGKILL
    child.kill()
    return start(data, embedder), pitches


def killed_in_turn(data: Path, *runs: tuple[str, ...]) -> None:
    """Each run (a mode and its arguments, with its --die-at) on ``data``, one after the
    other, each killed at its step."""
    for mode, *args in runs:
        child = Child(mode, str(data), *args)
        child.wait_for("ready")
        child.proc.wait()
        assert child.proc.returncode == -signal.SIGKILL, child.kill()
        child.kill()


def test_a_kill_between_the_file_and_the_ledger_is_taken_back_and_the_retry_works(
    tmp_path: Path, embedder: Embedder
) -> None:
    clean = start(tmp_path / "clean", embedder)
    sample = state_of(clean)
    clean.close()
    app, pitches = killed_at("ledger-add", tmp_path, embedder)
    try:
        assert state_of(app) == sample  # the unconfirmed file is gone, from the index too
        assert leftovers(app.settings) == []
        [settled] = app.reconciled
        assert len(settled.removed) == 1 and settled.recorded == [] == settled.undone
        audit = app.room.services.ledger.promotions.audit_log(SHOW)
        assert [a.action for a in audit[-2:]] == ["canon.adding", "canon.reconcile"]
        assert audit[-1].detail["file"] == settled.removed[0]
        retry = say(app, "add", pitches[0])  # the writer's retry works
        assert retry.kind == "canon", retry.text
        assert retry.data["file"] == settled.removed[0]  # type: ignore[index]
        assert say(app, "undo").kind == "canon" and say(app, "undo").kind == "error"
    finally:
        app.close()


def test_a_start_killed_while_taking_back_an_unconfirmed_add_takes_it_back_next_time(
    tmp_path: Path, embedder: Embedder
) -> None:
    """The add is killed before its ledger row; the next start is killed after auditing the
    removal, before the file goes. The start after that must still remove it, not record it
    as canon the writer was never told about."""
    clean = start(tmp_path / "clean", embedder)
    sample = state_of(clean)
    clean.close()
    data = tmp_path / "data"
    pitches = seeded(data, embedder)
    killed_in_turn(
        data,
        ("canon", *pitches, "--die-at", "ledger-add"),
        ("start", "--die-at", "reconcile-remove"),
    )
    app = start(data, embedder)
    try:
        assert state_of(app) == sample and leftovers(app.settings) == []
        [settled] = app.reconciled
        assert len(settled.removed) == 1 and settled.recorded == []
        assert say(app, "add", pitches[0]).kind == "canon"  # the writer's retry works
    finally:
        app.close()


def test_a_kill_between_removing_the_file_and_the_ledger_marks_it_undone(
    tmp_path: Path, embedder: Embedder
) -> None:
    app, pitches = killed_at("ledger-undo", tmp_path, embedder)
    try:
        state = state_of(app)
        assert [n for _, n, _ in state.active] == [int(pitches[0])]  # the second is undone
        assert set(state.files) - set(SAMPLE_FILES) == {state.active[0][2]}
        [settled] = app.reconciled
        assert len(settled.undone) == 1 and settled.removed == [] == settled.recorded
        entry = app.room.services.ledger.promotions.audit_log(SHOW)[-1]
        assert (entry.action, entry.detail["change"]) == ("canon.reconcile", "marked undone")
        assert say(app, "add", pitches[1]).kind == "canon"  # it can be added again
        assert undo_all(app).files == SAMPLE_FILES
    finally:
        app.close()


def test_a_kill_during_undo_and_another_during_the_next_start_still_converge(
    tmp_path: Path, embedder: Embedder
) -> None:
    """The undo is killed after removing its file, before the index hears of it; the next
    start is killed too, after settling the ledger, before its own ingest. The start after
    that must still take the file's sections out of the index."""
    data = tmp_path / "data"
    pitches = seeded(data, embedder)
    killed_in_turn(
        data, ("canon", *pitches, "--die-at", "ingest:3"), ("start", "--die-at", "ingest:1")
    )
    app = start(data, embedder)
    try:
        state = state_of(app)
        assert [n for _, n, _ in state.active] == [int(pitches[0])]
        assert set(app.bible.sections(SHOW)) == set(state.files)  # no sections of a gone file
        assert say(app, "undo").kind == "canon" and state_of(app).files == SAMPLE_FILES
    finally:
        app.close()


# ---- two processes promoting at once ---------------------------------------------------------
def test_two_processes_promoting_at_once_keep_each_others_sections(
    tmp_path: Path, embedder: Embedder, chroma_server: int
) -> None:
    """Two rooms on one Chroma server (say the Slack and the Discord bot) promoting different
    pitches at the same moment: each ingest runs while holding the folder's lock, so neither
    deletes the sections of the file the other has just written."""
    data = tmp_path / "data"
    pitches = seeded(data, embedder, chroma_server, n=8)
    children = [
        Child("promote", str(data), *pitches[half::2], "--chroma-port", str(chroma_server))
        for half in (0, 1)
    ]
    for child in children:
        child.wait_for("ready")
    for child in children:
        child.send("go")
    for child in children:
        child.wait_for("done")
        assert [line.split()[1] for line in child.kill() if line.startswith("reply")] == [
            "canon"
        ] * 4, child.lines
    app = start(data, embedder, chroma_server)
    try:
        state = state_of(app)
        assert sorted(n for _, n, _ in state.active) == sorted(int(p) for p in pitches)
        promoted = {file for _, _, file in state.active}
        assert promoted == set(state.files) - set(SAMPLE_FILES)
        assert promoted <= set(app.bible.sections(SHOW))  # each promotion has its sections
        again = app.bible.ingest(app.settings.bibles_dir / SHOW, SHOW)
        assert (again.added, again.updated, again.removed) == (0, 0, 0)  # index == folder
        assert app.reconciled == []
    finally:
        app.close()


def test_a_store_closed_and_opened_again_sees_what_another_process_wrote(
    tmp_path: Path, embedder: Embedder
) -> None:
    """This process opens and closes the store (the set-up), another adds and undoes canon,
    then this one opens it again: it must read the other's writes, not its own old copy."""
    data = tmp_path / "data"
    pitches = seeded(data, embedder)
    child = Child("canon", str(data), *pitches)
    _, done = child.wait_for("done")
    child.kill()
    app = start(data, embedder)
    try:
        state = state_of(app)
        assert [n for _, n, _ in state.active] == [int(pitches[0])]
        assert state.sections == int(done.split()[1])  # what the other process counted
        assert set(app.bible.sections(SHOW)) == set(state.files)
    finally:
        app.close()


def test_two_processes_promoting_the_same_pitch_at_once_add_it_once(
    tmp_path: Path, embedder: Embedder, chroma_server: int
) -> None:
    """Both check that the pitch is not in canon yet, then write, ingest and record it: without
    one lock around all of that, both pass the check and the ledger holds it twice."""
    data = tmp_path / "data"
    pitch, _ = seeded(data, embedder, chroma_server)
    port = ["--chroma-port", str(chroma_server)]
    children = [Child("promote", str(data), pitch, *port) for _ in range(2)]
    for child in children:
        child.wait_for("ready")
    for child in children:
        child.send("go")
    replies = []
    for child in children:
        child.wait_for("done")
        replies += [line for line in child.kill() if line.startswith("reply")]
    assert sorted(r.split()[1] for r in replies) == ["canon", "error"], replies
    assert any("already in the" in r for r in replies), replies
    app = start(data, embedder, chroma_server)
    try:
        rows = app.room.services.ledger.promotions.of_show(SHOW)
        assert [(p.source_id, p.undone_at) for p in rows] == [(int(pitch), None)]
        assert set(state_of(app).files) - set(SAMPLE_FILES) == {rows[0].file}
        assert leftovers(app.settings) == [] and app.reconciled == []
    finally:
        app.close()
