"""Statements of the hot paths: SQL written once, run on the driver's own connection.

Building a statement with SQLAlchemy and running it through the ORM session costs about
0.2 ms of CPU per statement before the driver sees it (measured: three selects in one
transaction 1.0 ms through the session, 0.4 ms on the driver); asyncpg prepares a
statement once per connection and keeps it, so a statement written once as SQL costs
the driver's work alone. Use `Sql` where a request runs it every time; everything else
stays with SQLAlchemy.

- `Sql.fetch/fetchrow/fetchval/execute(session, ...)` run inside the caller's unit of
  work (`Database.transaction()`), on the connection of its session: they see what the
  session wrote, and commit or roll back with it.
- `Database.statement()` gives a connection outside any transaction, for a use case that
  is one statement (a counter, a sequence): PostgreSQL runs it as its own transaction, in
  one round trip instead of three (BEGIN, the statement, COMMIT).

Parameters are positional (`$1`, `$2`); JSON parameters are passed as text (`json_text`)
and JSON results come back decoded, as SQLAlchemy's asyncpg dialect sets the codecs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


async def driver_of(connection: AsyncConnection, *, begin: bool) -> asyncpg.Connection:
    """The asyncpg connection under `connection`; with `begin`, inside the transaction
    SQLAlchemy's dialect opens lazily (on its first statement), opened now if not yet."""
    adapted: Any = (await connection.get_raw_connection()).dbapi_connection
    if adapted.driver_connection.is_closed():
        # Closed with its server (a restart, a failover) while idle in the pool: what runs
        # on it here goes to asyncpg directly, so SQLAlchemy would never learn it is dead
        # and would hand it out again and again. Dropped now, and said for what it is:
        # the connection lost (unavailable, a 503 the caller retries), not a misuse.
        await connection.invalidate()
        raise asyncpg.ConnectionDoesNotExistError("connection is closed: its server went away")
    # The dialect's adapter starts its transaction on the first statement it runs; one
    # run here first must be inside it too, or it would commit on its own.
    if begin and adapted._transaction is None:
        await adapted._start_transaction()
    return cast(asyncpg.Connection, adapted.driver_connection)


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The driver connection of `session`'s transaction (begun if it was not yet)."""
    return await driver_of(await session.connection(), begin=True)


def json_text(value: Any) -> str:
    """A JSON parameter as the dialect's codec takes it: the document's text."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


Runner: TypeAlias = AsyncSession | asyncpg.Connection


async def _connection(on: Runner) -> asyncpg.Connection:
    return await driver(on) if isinstance(on, AsyncSession) else on


@dataclass(frozen=True)
class Sql:
    """One statement, written once; run on a session's transaction or on a connection
    from `Database.statement()`."""

    text: str

    async def fetch(self, on: Runner, *args: Any) -> list[asyncpg.Record]:
        return cast(list[asyncpg.Record], await (await _connection(on)).fetch(self.text, *args))

    async def fetchrow(self, on: Runner, *args: Any) -> asyncpg.Record | None:
        return cast(asyncpg.Record | None, await (await _connection(on)).fetchrow(self.text, *args))

    async def fetchval(self, on: Runner, *args: Any) -> Any:
        return await (await _connection(on)).fetchval(self.text, *args)

    async def execute(self, on: Runner, *args: Any) -> None:
        await (await _connection(on)).execute(self.text, *args)

    async def executemany(self, on: Runner, rows: Iterable[Sequence[Any]]) -> None:
        """The statement once per row of parameters, in one round trip (pipelined)."""
        await (await _connection(on)).executemany(self.text, rows)
