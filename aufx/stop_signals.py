"""Graceful stop for long training runs: SIGTERM (and SIGINT) end the run at the next step.

Shells ignore SIGINT in background jobs, and ``kill`` sends SIGTERM, so a trainer started with
``nohup ... &`` would otherwise die without its final checkpoint. Inside
:func:`stop_requested_on_signals` both signals set a flag that the training loop polls; the loop
then leaves normally and writes its checkpoint.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


class StopFlag:
    """Set by a signal handler; ``bool(flag)`` is True once a stop was requested."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __bool__(self) -> bool:
        return self.signal is not None


@contextmanager
def stop_requested_on_signals(signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[StopFlag]:
    """Within the block, the given signals set the yielded flag instead of killing the process."""
    flag = StopFlag()

    def handler(signum: int, frame: object) -> None:
        flag.signal = signum

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
