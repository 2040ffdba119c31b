"""Up to N requests at once to a model server, the rest waiting their turn by lane.

A served model batches several streams (llama-server's parallel slots, vLLM's continuous
batching), so the room sends up to ``concurrency`` requests at once instead of one. Past that
they wait, and the next free place goes round-robin by lane (a channel), as the in-process
scheduler does: a channel that queues five requests cannot make another wait for all five.
The queue is bounded the same way: past ``limit`` waiting, a request is refused at once.

Thread-safe and loop-agnostic: the Slack, Discord and terminal adapters may each run their own
event loop, so a waiter is woken on its own loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict, deque

from agents.errors import RoomBusy


class FairGate:
    def __init__(self, concurrency: int, limit: int | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self.limit = limit
        self._free = concurrency
        self._lanes: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def waiting(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._lanes.values())

    @property
    def running(self) -> int:
        with self._lock:
            return self.concurrency - self._free

    async def acquire(self, lane: str) -> None:
        """Wait for a place; raises ``RoomBusy`` at once when ``limit`` requests already
        wait. Cancelled while waiting, the place is never taken (or is handed on)."""
        with self._lock:
            if self._free > 0 and not self._lanes:
                self._free -= 1
                return
            waiting = sum(len(q) for q in self._lanes.values())
            if self.limit is not None and waiting >= self.limit:
                raise RoomBusy(waiting + self.concurrency - self._free)
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._lanes.setdefault(lane, deque()).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            with self._lock:
                queue = self._lanes.get(lane)
                if queue is not None and turn in queue:
                    queue.remove(turn)
                    if not queue:
                        del self._lanes[lane]
                    raise
            # The place was handed to us as we were cancelled: pass it on.
            self.release()
            raise

    def release(self) -> None:
        """Hand the place to the next lane in turn, or free it."""
        with self._lock:
            while self._lanes:
                lane, queue = next(iter(self._lanes.items()))
                turn = queue.popleft()
                del self._lanes[lane]
                if queue:  # back of the line: the other lanes go first
                    self._lanes[lane] = queue
                if _grant(turn):
                    return
            self._free += 1


def _grant(turn: asyncio.Future[None]) -> bool:
    """Wake a waiter on its own loop; False when it can no longer be woken (its loop is
    closed), so the place goes to the next one."""
    loop = turn.get_loop()
    if loop.is_closed():
        return False
    try:
        loop.call_soon_threadsafe(_set, turn)
    except RuntimeError:
        return False
    return True


def _set(turn: asyncio.Future[None]) -> None:
    if not turn.done():
        turn.set_result(None)
