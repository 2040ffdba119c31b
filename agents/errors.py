"""Errors a writer sees. Each message says what went wrong and what to do next."""

from __future__ import annotations


class RoomError(Exception):
    """Base: str(error) is shown to the writer as it is, so keep it plain and secret-free."""


class BadRequest(RoomError):
    """The writer's input cannot be used as given (empty, too long, unknown command)."""


class DeadlineExceeded(RoomError):
    """``queued_s``: how much of the deadline went to waiting behind other requests."""

    def __init__(self, seconds: float, queued_s: float = 0.0) -> None:
        waited = (
            f", {queued_s:.0f} s of it waiting behind other requests,"
            if queued_s >= 1
            else " (time waiting behind other requests counts)"
        )
        super().__init__(
            f"The model did not finish within {seconds:.0f} s{waited} so I stopped it. "
            "Nothing was saved. Try a shorter request, or ask whoever runs the bot to raise "
            "WR_REQUEST_DEADLINE_S or use a faster model."
        )


class RoomBusy(RoomError):
    """The model's queue is full: saying so at once beats a silent wait past the deadline."""

    def __init__(self, ahead: int) -> None:
        self.ahead = ahead
        requests = "1 request is" if ahead == 1 else f"{ahead} requests are"
        super().__init__(
            f"The room is busy: {requests} ahead of yours, so I did not queue it. "
            "Nothing was saved. Ask again in a minute (waiting in line counts against the "
            "time limit for an answer)."
        )


class ContextOverflow(RoomError):
    def __init__(self, needed: int, available: int) -> None:
        super().__init__(
            f"That request needs about {needed} tokens but the model's window holds {available}, "
            "even after dropping older thread history and less relevant canon. Shorten the "
            "message or start a new thread."
        )


class StructuredOutputError(RoomError):
    """The model did not produce output that validates; nothing half-parsed is shown."""


class ModelUnavailable(RoomError):
    pass


class Cancelled(RoomError):
    def __init__(self) -> None:
        super().__init__("The request was cancelled.")
