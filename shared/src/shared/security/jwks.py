"""Another issuer's public keys, fetched from its JWKS URL and kept.

The keys are fetched on first use and again when a token names a key id not seen yet (the
issuer rotated its keys), at most once per `refresh_interval`: a flood of tokens with
made-up key ids must not become a flood of requests to the issuer.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

log = logging.getLogger(__name__)


class RemoteKeySet:
    def __init__(
        self,
        url: str | None,
        *,
        keys: list[dict[str, Any]] | None = None,
        refresh_interval: timedelta = timedelta(seconds=30),
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        # Keys given up front (tests, air-gapped set-ups) are trusted as well.
        self._static = list(keys or [])
        self._keys: dict[str, dict[str, Any]] = {k["kid"]: k for k in self._static if "kid" in k}
        self._refresh_interval = refresh_interval
        self._timeout = timeout
        self._fetched_at: datetime | None = None
        self._lock = asyncio.Lock()

    def known(self, kid: str | None) -> dict[str, Any] | None:
        """The key `kid` among those already held, without fetching."""
        return self._keys.get(kid) if kid is not None else None

    def all(self) -> list[dict[str, Any]]:
        return list(self._keys.values())

    async def find(self, kid: str | None) -> dict[str, Any] | None:
        """The JWK of `kid`: held, or fetched again if not (at most once per interval)."""
        key = self.known(kid)
        if key is None and await self.refresh():
            key = self.known(kid)
        return key

    async def refresh(self) -> bool:
        """Fetch the keys again unless that was done within the interval; whether done."""
        if self.url is None:
            return False
        async with self._lock:
            now = datetime.now(UTC)
            if self._fetched_at and now - self._fetched_at < self._refresh_interval:
                return False
            self._fetched_at = now
            try:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.get(self.url)
                    response.raise_for_status()
                    fetched = response.json()["keys"]
                keys = {k["kid"]: k for k in [*self._static, *fetched] if "kid" in k}
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                log.warning("could not fetch the issuer's keys", extra={"error": str(exc)})
                return False
            self._keys = keys
            return True
