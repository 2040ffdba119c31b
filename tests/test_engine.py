"""The llama.cpp engine on the real bundled model: streaming, grammar, deadlines, fairness."""

import asyncio
import json
import threading
import time

import pytest

from agents.errors import DeadlineExceeded, RoomBusy
from agents.llm.llama import Generation, LlamaEngine, _StopFilter, common_prefix, grammar_for
from agents.llm.prompt import Prompt
from agents.llm.scheduler import FairScheduler
from agents.schemas import logline_schema
from tests.conftest import run


def chat(engine: LlamaEngine, text: str = "Name a ship.") -> Prompt:
    """A one-turn chat prompt as the room builds them (template markup kept apart)."""
    return engine.chat_prompt([{"role": "user", "content": text}])


def test_stream_yields_pieces_and_stats(engine: LlamaEngine) -> None:
    async def go() -> tuple[list[str], object]:
        from agents.llm.base import GenerationStats

        stats = GenerationStats()
        pieces = [p async for p in engine.generate(Generation(chat(engine), max_tokens=12), stats)]
        return pieces, stats

    pieces, stats = run(go())
    assert len(pieces) >= 2 and "".join(pieces).strip()
    assert stats.generated_tokens >= 2 and stats.ttft_s > 0


def test_grammar_output_always_parses(engine: LlamaEngine) -> None:
    grammar = grammar_for(json.dumps(logline_schema(2, 30)))
    completion = run(
        engine.complete(Generation(chat(engine), max_tokens=300, temperature=0.9, grammar=grammar))
    )
    data = json.loads(completion.text)
    assert len(data["loglines"]) == 2
    assert all(len(item["hook"]) <= 30 for item in data["loglines"])


def test_follow_up_reuses_the_kv_prefix(engine: LlamaEngine) -> None:
    long = "The ferry crosses at night. " * 40
    first = run(engine.complete(Generation(chat(engine, long), max_tokens=4)))
    follow = run(engine.complete(Generation(chat(engine, long + " Why?"), max_tokens=4)))
    assert follow.stats.reused_tokens >= first.stats.prompt_tokens - 8


def test_deadline_gives_a_clear_error(engine: LlamaEngine) -> None:
    with pytest.raises(DeadlineExceeded, match="did not finish within"):
        run(engine.complete(Generation(chat(engine), max_tokens=400, deadline_s=0.05)))
    # the worker is free again afterwards
    assert run(engine.complete(Generation(chat(engine), max_tokens=3))).stats.generated_tokens >= 1


def test_abandoned_stream_is_cancelled(engine: LlamaEngine) -> None:
    async def go() -> int:
        agen = engine.generate(Generation(chat(engine), max_tokens=400))
        await agen.__anext__()
        await agen.aclose()
        done = await engine.complete(Generation(chat(engine), max_tokens=3))
        return done.stats.generated_tokens

    assert run(go()) >= 1


def test_two_lanes_at_once_both_finish(engine: LlamaEngine) -> None:
    async def go() -> list[str]:
        jobs = [
            engine.complete(Generation(chat(engine), lane=lane, max_tokens=8))
            for lane in ("a", "b")
        ]
        return [c.text for c in await asyncio.gather(*jobs)]

    assert all(text.strip() for text in run(go()))


def test_scheduler_is_round_robin_between_lanes() -> None:
    scheduler = FairScheduler()
    order: list[str] = []
    gate = threading.Event()
    scheduler.submit("busy", gate.wait)  # hold the worker while the queue fills
    for i in range(3):
        scheduler.submit("busy", lambda i=i: order.append(f"busy{i}"))
    scheduler.submit("quiet", lambda: order.append("quiet"))
    gate.set()
    deadline = time.monotonic() + 5
    while len(order) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    scheduler.close()
    assert order.index("quiet") <= 1  # not behind all of the busy channel's work


def test_a_full_queue_refuses_at_once_saying_how_many_are_ahead() -> None:
    scheduler = FairScheduler(limit=2)
    gate = threading.Event()
    try:
        assert scheduler.submit("a", gate.wait) == 0  # runs at once: nothing ahead
        deadline = time.monotonic() + 5
        while scheduler.waiting and time.monotonic() < deadline:
            time.sleep(0.01)
        assert scheduler.submit("a", lambda: None) == 1
        assert scheduler.submit("b", lambda: None) == 2
        with pytest.raises(RoomBusy, match="busy: 3 requests are ahead of yours") as busy:
            scheduler.submit("c", lambda: None)
        assert busy.value.ahead == 3 and scheduler.waiting == 2  # the refused one is not queued
        assert "time limit" in str(busy.value) and "Nothing was saved" in str(busy.value)
    finally:
        gate.set()
        scheduler.close()


def test_the_model_queue_is_bounded_and_its_wait_counts_against_the_deadline(
    engine: LlamaEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine._scheduler, "limit", 1)

    async def go() -> tuple[BaseException | None, BaseException | None]:
        long = engine.generate(Generation(chat(engine), lane="a", max_tokens=400))
        await long.__anext__()  # the worker is busy with it
        waiting = asyncio.ensure_future(
            engine.complete(Generation(chat(engine), lane="b", max_tokens=3, deadline_s=1.5))
        )
        await asyncio.sleep(0.2)
        refused = None
        try:
            await engine.complete(Generation(chat(engine), lane="c", max_tokens=3))
        except RoomBusy as exc:
            refused = exc
        try:
            await waiting
            late = None
        except DeadlineExceeded as exc:
            late = exc
        await long.aclose()
        return refused, late

    refused, late = run(go())
    assert isinstance(refused, RoomBusy) and refused.ahead == 2
    # The queued request spent its whole deadline behind the long one, and hears so.
    assert late is not None and "s of it waiting behind other requests" in str(late)
    monkeypatch.undo()
    assert run(engine.complete(Generation(chat(engine), max_tokens=3))).stats.generated_tokens >= 1


def test_stop_filter_and_prefix_helpers() -> None:
    import numpy as np

    stop = _StopFilter(("END",))
    assert stop.feed("abc E") == "abc "
    assert stop.feed("N") == ""
    assert stop.feed("D tail") == "" and stop.stopped
    assert common_prefix(np.array([1, 2, 3, 4]), [1, 2, 9]) == 2
    assert common_prefix(np.array([], dtype=int), [1]) == 0


def test_missing_model_file_is_explained(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agents.llm.model_files import ModelFileError, resolve_model

    with pytest.raises(ModelFileError, match=r"does not exist\. Fix WR_MODEL_PATH"):
        resolve_model(tmp_path / "nope.gguf", tmp_path)
