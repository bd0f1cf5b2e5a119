"""The async engine and the unit of work: one transaction per use case.

A use case opens `async with db.transaction() as session:`; everything it writes,
including its outbox rows, commits together when the block ends, or rolls back together
when it raises. Nothing is published from inside the block: the relay publishes what
committed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.db.sql import driver_of


def unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be had now (no free connection in time, the
    server away or refusing connections), as opposed to a fault of the request."""
    if isinstance(error, exc.TimeoutError):  # the pool's: every connection busy
        return True
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    # SQLAlchemy wraps the driver's error in its dialect's own, which carries the asyncpg
    # exception as its cause: look through the chain.
    cause: BaseException | None = error.orig if isinstance(error, exc.DBAPIError) else error
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(
            cause,
            OSError
            | asyncpg.CannotConnectNowError
            | asyncpg.TooManyConnectionsError
            | asyncpg.ConnectionDoesNotExistError
            | asyncpg.AdminShutdownError,
        ):
            return True
        cause = cause.__cause__
    return False


class Database:
    def __init__(
        self, url: str, *, pool_size: int = 10, pool_timeout: float = 3.0, echo: bool = False
    ) -> None:
        self.url = url
        # No pre-ping: it costs a round trip per transaction (measured: 1.5 ms of 3.3 ms for
        # a one-statement transaction). A connection that died with its server fails once,
        # SQLAlchemy then invalidates the whole pool, and the request can be retried.
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=pool_timeout,
            pool_recycle=1800,
            echo=echo,
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # One-statement work (`statement()`) has a pool of its own. A use case may take
        # such a statement while it holds a transaction (a submission takes its code number
        # on another connection so as not to lock the agency's day to its end); drawing
        # both from one pool, enough concurrent use cases each holding one connection and
        # waiting for a second would wait for each other until the pool timeout. Nothing
        # holding a statement connection waits for another connection, so no circle forms.
        # Half the size: one statement holds its connection for one round trip. No overflow:
        # a connection opened past the pool is closed again at its return, and one-statement
        # work is frequent enough that it would open one per statement.
        self.statement_engine: AsyncEngine = create_async_engine(
            url,
            pool_size=max(2, pool_size // 2),
            max_overflow=0,
            pool_timeout=pool_timeout,
            pool_recycle=1800,
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read-only session whose statements all see one snapshot (REPEATABLE READ), for
        a view read in several statements: under the default READ COMMITTED each statement
        sees what committed before it began, so a dossier read first and its timeline read
        next could show a status older than the timeline's last entry."""
        async with self.sessions() as session, session.begin():
            await session.connection(
                execution_options={
                    "isolation_level": "REPEATABLE READ",
                    "postgresql_readonly": True,
                }
            )
            yield session

    @asynccontextmanager
    async def driver_transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A transaction on a pooled driver connection, without an ORM session: for a use
        case whose statements are all `Sql` (shared/db/sql.py). Committed on success,
        rolled back on error, like `transaction()`, from the same pool; the session around
        a transaction cost about 0.18 ms of CPU (opening it, its connection's checkout
        through the greenlet bridge, the commit's bookkeeping) for nothing such a use case
        uses."""
        async with self._driver(self.engine) as raw, raw.transaction():
            yield raw

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled driver connection outside any transaction, for a use case of one
        statement (see `shared.db.sql`): PostgreSQL commits it on its own, in one round
        trip. From a pool of its own (see `__init__`)."""
        async with self._driver(self.statement_engine) as raw:
            yield raw

    @asynccontextmanager
    async def _driver(self, engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
        """A driver connection of `engine`'s pool, outside any transaction of SQLAlchemy's."""
        # Its statements go to asyncpg directly, past SQLAlchemy, which therefore never
        # learns that a connection died with its server (a restart, a failover) and would
        # hand the dead one out again for ever: each is checked (no round trip) as it is
        # taken (driver_of), and dropped from the pool if found closed then or after a
        # failure.
        for attempt in range(2):
            async with engine.connect() as connection:
                try:
                    raw = await driver_of(connection, begin=False)
                except asyncpg.ConnectionDoesNotExistError:
                    if attempt == 0:
                        continue  # found closed and dropped (see driver_of): another one
                    raise
                try:
                    yield raw
                except Exception as error:
                    if not raw.is_closed():
                        raise
                    await connection.invalidate()
                    # What it is: the connection lost (unavailable, a 503), not a misuse.
                    raise asyncpg.ConnectionDoesNotExistError(str(error)) from error
                return

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.statement_engine.dispose()
