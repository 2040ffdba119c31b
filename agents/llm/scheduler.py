"""One worker thread per model object, serving conversations' lanes round-robin.

llama.cpp's context is not thread-safe, so every generation on one model runs here, one at
a time. Picking the next job round-robin by lane (a channel) rather than first-come means a
channel that queues five requests cannot make another channel wait for all five. The queue
is bounded: past ``limit`` waiting jobs a request is refused at once, since it would wait
past its deadline anyway.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable

from agents.errors import RoomBusy

Job = Callable[[], None]


class FairScheduler:
    def __init__(self, name: str = "model-worker", limit: int | None = None) -> None:
        self._lanes: OrderedDict[str, deque[Job]] = OrderedDict()
        self._cond = threading.Condition()
        self._closed = False
        self._running = 0  # 1 while a job runs
        self.limit = limit  # waiting jobs allowed; None: unbounded
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        with self._cond:
            return sum(len(q) for q in self._lanes.values())

    def submit(self, lane: str, job: Job) -> int:
        """Queue ``job``; returns how many requests are ahead of it (raises ``RoomBusy``
        when the queue is full)."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the model worker has shut down")
            waiting = sum(len(q) for q in self._lanes.values())
            if self.limit is not None and waiting >= self.limit:
                raise RoomBusy(waiting + self._running)
            self._lanes.setdefault(lane, deque()).append(job)
            self._cond.notify()
            return waiting + self._running

    def _next(self) -> Job | None:
        with self._cond:
            self._running = 0
            while not self._lanes and not self._closed:
                self._cond.wait()
            if not self._lanes:
                return None
            lane, queue = next(iter(self._lanes.items()))
            job = queue.popleft()
            del self._lanes[lane]
            if queue:  # back of the line: the other lanes go first
                self._lanes[lane] = queue
            self._running = 1
            return job

    def _loop(self) -> None:
        while (job := self._next()) is not None:
            job()  # jobs report their own errors to their callers

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._lanes.clear()
            self._cond.notify_all()
        self._thread.join(timeout=5)
