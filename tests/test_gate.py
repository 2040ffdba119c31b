"""The served backend's gate: up to N requests at once, the rest round-robin by channel,
bounded, and never losing a place to a cancelled waiter."""

from __future__ import annotations

import asyncio

import pytest

from agents.errors import RoomBusy
from agents.llm.gate import FairGate


async def _order(gate: FairGate, lanes: list[str]) -> list[str]:
    """Hold every place, queue ``lanes`` in order, then let them through one by one."""
    for _ in range(gate.concurrency):
        await gate.acquire("holder")
    served: list[str] = []

    async def wait(lane: str) -> None:
        await gate.acquire(lane)
        served.append(lane)

    tasks = [asyncio.create_task(wait(lane)) for lane in lanes]
    await asyncio.sleep(0)
    for _ in lanes:
        gate.release()
        await asyncio.sleep(0.01)
    await asyncio.gather(*tasks)
    return served


def test_places_go_round_robin_by_channel() -> None:
    served = asyncio.run(_order(FairGate(1), ["a", "a", "a", "b", "c"]))
    assert served == ["a", "b", "c", "a", "a"]


def test_up_to_n_at_once_then_a_bounded_queue() -> None:
    async def scenario() -> tuple[int, int]:
        gate = FairGate(2, limit=1)
        await gate.acquire("a")
        await gate.acquire("b")  # both places taken at once, no waiting
        waiter = asyncio.create_task(gate.acquire("c"))
        await asyncio.sleep(0)
        with pytest.raises(RoomBusy) as busy:
            await gate.acquire("d")  # the one waiting place is taken: refused at once
        running = gate.running
        gate.release()
        await waiter
        return busy.value.ahead, running

    ahead, running = asyncio.run(scenario())
    assert (ahead, running) == (3, 2)


def test_a_cancelled_waiter_never_keeps_a_place() -> None:
    async def scenario() -> int:
        gate = FairGate(1)
        await gate.acquire("a")
        gone = asyncio.create_task(gate.acquire("b"))
        stays = asyncio.create_task(gate.acquire("c"))
        await asyncio.sleep(0)
        gone.cancel()
        gate.release()  # handed to b's turn while b is being cancelled, or to c
        await asyncio.wait_for(stays, 1)
        gate.release()
        return gate.running

    assert asyncio.run(scenario()) == 0


def test_a_waiter_on_another_thread_s_loop_is_woken_there() -> None:
    """The Slack, Discord and terminal adapters each run their own loop: a place freed on
    one is handed to a waiter on another, woken on its own loop."""
    import threading

    gate = FairGate(1)
    asyncio.run(gate.acquire("main"))  # held by a request on this thread's (finished) loop
    woke: list[str] = []
    waiting = threading.Event()

    def other() -> None:
        async def wait() -> None:
            task = asyncio.create_task(gate.acquire("other"))
            await asyncio.sleep(0.05)
            waiting.set()
            await asyncio.wait_for(task, 5)
            woke.append(threading.current_thread().name)
            gate.release()

        asyncio.run(wait())

    thread = threading.Thread(target=other, name="discord-loop")
    thread.start()
    assert waiting.wait(5)
    gate.release()  # from this thread
    thread.join(10)
    assert woke == ["discord-loop"] and gate.running == 0
