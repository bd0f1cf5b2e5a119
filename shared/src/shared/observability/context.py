"""The correlation id of the work in hand: set from the HTTP request or the event being
handled, read by the logger and by the outbox when it wraps a new event, so one id
follows a citizen's click through every service it touches."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def new_correlation_id() -> str:
    """32 random hex digits, as a uuid4's hex. An id to follow a request by, not a secret
    (it is sent back to the caller): from the process's own generator (reseeded in a
    forked child) rather than the system's, a system call on every request."""
    return f"{random.getrandbits(128):032x}"


@contextmanager
def correlation(correlation_id: str | None) -> Iterator[str]:
    value = correlation_id or new_correlation_id()
    token = _correlation_id.set(value)
    try:
        yield value
    finally:
        _correlation_id.reset(token)
