"""Sessions that end: every token carries its account's session version (`sv`), and a
token whose version is no longer the account's is refused.

A service raises an account's version when its password is changed or reset (or an
officer is deactivated or given new roles): every token issued before stops working,
on every replica, within `ttl`. Checking costs no database round trip per request: each
process remembers the versions it read for `ttl` seconds, and the process that raised a
version knows the new one at once (`moved`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

CLAIM = "sv"


def version_of(extra: dict[str, Any]) -> int:
    """The session version a token carries (tokens from before versions: 0)."""
    value = extra.get(CLAIM, 0)
    return value if isinstance(value, int) else -1


class SessionVersions:
    """The current session version of each account, as `load` reads it from the
    service's database (None: no such account, or one that may not sign in)."""

    def __init__(
        self,
        load: Callable[[str], Awaitable[int | None]],
        *,
        ttl: float = 5.0,
        size: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._known: OrderedDict[str, tuple[float, int | None]] = OrderedDict()

    async def current(self, subject: str) -> int | None:
        now = self._clock()
        known = self._known.get(subject)
        if known is not None and now - known[0] < self._ttl:
            return known[1]
        version = await self._load(subject)
        self._remember(subject, version, now)
        return version

    async def valid(self, subject: str, extra: dict[str, Any]) -> bool:
        """Whether a token of `subject` with these claims belongs to a live session."""
        current = await self.current(subject)
        return current is not None and current == version_of(extra)

    def moved(self, subject: str, version: int | None) -> None:
        """This process changed the version: known at once, without waiting for `ttl`."""
        self._remember(subject, version, self._clock())

    def _remember(self, subject: str, version: int | None, at: float) -> None:
        self._known[subject] = (at, version)
        self._known.move_to_end(subject)
        while len(self._known) > self._size:
            self._known.popitem(last=False)
