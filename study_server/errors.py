"""One exception for every rejected request, rendered as HTML or JSON with a clear message."""

from __future__ import annotations


class RequestRejected(Exception):
    """A client error: ``status`` (4xx) and a one-line message naming the bad field or value."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
