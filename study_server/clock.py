"""The server's clock (naive UTC, stored the same way on SQLite and PostgreSQL).

Every timestamp the server stores comes from :func:`utcnow`. A simulation of a long study (hours
of participants arriving, idling and abandoning) runs in seconds under :func:`simulated` time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_source: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    """Naive UTC now (simulated time inside :func:`simulated`)."""
    source = _source
    return datetime.now(UTC).replace(tzinfo=None) if source is None else source()


@contextmanager
def simulated(source: Callable[[], datetime]) -> Iterator[None]:
    """Within the block, :func:`utcnow` returns ``source()`` (in every thread of the process)."""
    global _source
    before, _source = _source, source
    try:
        yield
    finally:
        _source = before
