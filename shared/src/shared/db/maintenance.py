"""A service's consumers against its maintenance commands (`python -m stats.rebuild`).

The consume role holds the service's maintenance lock shared for as long as it runs; a
maintenance command takes it exclusively, or refuses to start while any consumer holds
it, rather than rewrite tables under a consumer's feet. A consumer that starts during a
maintenance waits for it to end before it consumes. The lock is a PostgreSQL advisory
lock of the session, on a connection kept for the purpose: it ends with the process (or
its connection), so a crashed holder never leaves it taken.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db.engine import Database

log = logging.getLogger(__name__)


class MaintenanceLock:
    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self._connection: AsyncConnection | None = None

    async def _take(self, function: str) -> bool:
        connection = self._connection = await self.db.engine.connect()
        taken = bool(
            await connection.scalar(
                text(f"SELECT {function}(hashtext(:name))"), {"name": self.name}
            )
        )
        # A session's advisory lock outlives the transaction: end it, so the connection
        # does not sit idle in a transaction for the process's lifetime.
        await connection.commit()
        return taken

    async def hold_shared(self) -> None:
        """Taken shared (a consumer), once no maintenance holds it."""
        if not await self._take("pg_try_advisory_lock_shared"):
            log.warning(
                "waiting for a maintenance to end before consuming", extra={"lock": self.name}
            )
            assert self._connection is not None
            await self._connection.execute(
                text("SELECT pg_advisory_lock_shared(hashtext(:name))"), {"name": self.name}
            )
            await self._connection.commit()

    async def try_exclusive(self) -> bool:
        """Taken exclusively (a maintenance) if no consumer holds it; False otherwise."""
        if await self._take("pg_try_advisory_lock"):
            return True
        await self.release()
        return False

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            # The pool only rolls back a connection it takes back: the lock would stay.
            await connection.execute(text("SELECT pg_advisory_unlock_all()"))
            await connection.commit()
        except Exception:
            await connection.invalidate()  # closed for good, and the lock with it
        await connection.close()
