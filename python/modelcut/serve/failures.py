# How a served chain reports a failure: StageFailed carries the HTTP status
# and the one line the client gets; it crosses processes (raised in a stage
# replica, read in the ingress or by a handle's caller).
from __future__ import annotations


class StageFailed(Exception):
    """A stage could not answer: `status` is the HTTP status to report
    (500 the part or an intervention failed, 503 unavailable, 504 too slow)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self):
        return StageFailed, (self.status, str(self))


def one_line(error: BaseException) -> str:
    """An exception's message on one line, at most 500 characters."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 500 else text[:497] + "..."
