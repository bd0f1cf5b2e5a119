"""A database that refuses connections is "unavailable" (answered 503 by the API), not a
fault of the request: here PostgreSQL's own refusal, too many connections."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from sqlalchemy import text

from shared.db.engine import Database, unavailable
from shared.db.sql import driver
from shared.testing.infra import PG_ADMIN_DSN
from shared.testing.private import PrivatePostgres, private_postgres

pytestmark = pytest.mark.integration


@pytest.fixture
async def refused_url(database_url: str) -> AsyncIterator[str]:
    """The test database, as a role that may hold no connection at all: PostgreSQL refuses
    it as it refuses anyone once `max_connections` are taken (SQLSTATE 53300)."""
    role = f"dvc_full_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
        yield database_url.replace("postgres@", f"{role}@", 1)
    finally:
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()


async def test_too_many_connections_is_unavailable(refused_url: str) -> None:
    db = Database(refused_url)
    try:
        with pytest.raises(Exception) as refused:  # noqa: PT011 (whatever the driver's wrapping)
            async with db.transaction() as session:
                await session.execute(text("SELECT 1"))
        assert unavailable(refused.value), repr(refused.value)
    finally:
        await db.dispose()


@pytest.fixture
def own_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of this test's own: it is restarted, which the machine's never is."""
    with private_postgres() as server:
        yield server


async def test_one_statement_work_after_a_restart_gets_a_live_connection(
    own_postgres: PrivatePostgres,
) -> None:
    """The statement pool's connections are driven through asyncpg directly: SQLAlchemy
    never sees them die with their server, and would hand out the dead ones for ever
    (every rate-limited request a 500 after a database restart)."""
    url = own_postgres.admin_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    db = Database(url, pool_size=4)
    try:
        for _ in range(2):  # both connections of the statement pool in it
            async with db.statement() as first, db.statement() as second:
                assert [await first.fetchval("SELECT 1"), await second.fetchval("SELECT 2")] == [
                    1,
                    2,
                ]
        await asyncio.to_thread(own_postgres.stop, "fast")
        # While it is away: unavailable (a 503), not a fault.
        with pytest.raises(Exception) as away:  # noqa: PT011 (whatever the driver raises)
            async with db.statement() as connection:
                await connection.fetchval("SELECT 1")
        assert unavailable(away.value), repr(away.value)
        await asyncio.to_thread(own_postgres.start)
        for _ in range(3):
            async with db.statement() as first, db.statement() as second:
                assert [await first.fetchval("SELECT 1"), await second.fetchval("SELECT 2")] == [
                    1,
                    2,
                ]
    finally:
        await db.dispose()


async def test_a_transaction_after_a_restart_is_unavailable_then_works(
    own_postgres: PrivatePostgres,
) -> None:
    """A transaction's statements run on its driver connection too (`shared.db.sql`): one
    taken from the pool dead is a 503 to retry (and dropped), never a 500 for ever."""
    url = own_postgres.admin_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    db = Database(url, pool_size=2)

    async def select_one() -> int:
        async with db.transaction() as session:
            return int(await (await driver(session)).fetchval("SELECT 1"))

    try:
        assert await select_one() == 1
        await asyncio.to_thread(own_postgres.stop, "fast")
        await asyncio.to_thread(own_postgres.start)
        refused: list[BaseException] = []
        for _ in range(3):
            try:
                assert await select_one() == 1
                break
            except Exception as error:
                refused.append(error)
        else:
            pytest.fail(f"no transaction after the restart: {refused!r}")
        assert all(unavailable(e) for e in refused), refused
    finally:
        await db.dispose()
