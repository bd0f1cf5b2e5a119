"""Statements written once (`shared.db.sql`) and the counters that use them, on the real
PostgreSQL: they run inside the caller's transaction (seeing its writes, rolled back with
it) or on their own, and several rate limits are counted in one statement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Integer, Table, Text, select

from shared.db import Database, new_metadata
from shared.db.limits import HOUR, MINUTE, RateLimits, rate_limits_table
from shared.db.sql import Sql
from shared.errors import TooMany

pytestmark = pytest.mark.integration

metadata = new_metadata()
notes = Table("notes", metadata, Column("id", Integer, primary_key=True), Column("text", Text))
limits_table = rate_limits_table(metadata)

ADD = Sql("INSERT INTO notes (id, text) VALUES ($1, $2)")
COUNT = Sql("SELECT count(*) FROM notes")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield database
    await database.dispose()


async def test_statements_join_the_sessions_transaction_and_roll_back_with_it(
    db: Database,
) -> None:
    async def refused_use_case() -> None:
        async with db.transaction() as session:
            # Before anything else in the transaction: it must still be inside it.
            await ADD.execute(session, 1, "first")
            await session.execute(notes.insert().values(id=2, text="second"))
            assert await COUNT.fetchval(session) == 2  # sees the session's own writes
            raise RuntimeError("the use case refuses")

    with pytest.raises(RuntimeError):
        await refused_use_case()
    async with db.statement() as connection:
        assert await COUNT.fetchval(connection) == 0
    async with db.transaction() as session:
        await ADD.execute(session, 3, "kept")
    async with db.transaction() as session:
        assert (await session.execute(select(notes.c.text))).scalars().all() == ["kept"]


async def test_a_statement_of_its_own_commits_by_itself(db: Database) -> None:
    async with db.statement() as connection:
        await ADD.execute(connection, 1, "alone")
    async with db.transaction() as session:
        assert await COUNT.fetchval(session) == 1


async def test_several_limits_are_counted_at_once_and_the_longest_wait_is_given(
    db: Database,
) -> None:
    limits = RateLimits(limits_table, "secret")
    hits = (("submit-ip:203.0.113.7", 3, HOUR), ("submit-account:a1", 2, MINUTE))
    await limits.hit_all(db, *hits)
    await limits.hit_all(db, *hits)
    with pytest.raises(TooMany) as refused:  # the account's limit (2) is passed first
        await limits.hit_all(db, *hits)
    assert refused.value.retry_after <= 60
    with pytest.raises(TooMany) as refused:  # now both: the hour's wait is the longer
        await limits.hit_all(db, *hits)
    now = datetime.now(UTC)
    to_the_hour = 3600 - (now.minute * 60 + now.second)
    assert abs(refused.value.retry_after - to_the_hour) <= 2
    async with db.transaction() as session:
        counted = sorted((await session.execute(select(limits_table.c.hits))).scalars())
    assert counted == [4, 4]  # refused hits count as much as served ones, in every bucket


async def test_concurrent_requests_counting_the_same_buckets_neither_deadlock_nor_lose_hits(
    db: Database,
) -> None:
    limits = RateLimits(limits_table, "secret")
    first, second = ("a:1", 10**6, HOUR), ("b:2", 10**6, HOUR)
    # Half name them one way round, half the other: counted in one order all the same.
    await asyncio.gather(
        *(limits.hit_all(db, *((first, second) if i % 2 else (second, first))) for i in range(40))
    )
    async with db.transaction() as session:
        counted = sorted((await session.execute(select(limits_table.c.hits))).scalars())
    assert counted == [40, 40]


NOTE = Sql("SELECT id, text FROM notes WHERE id = $1 AND text <> $2")


async def test_a_counted_read_counts_then_reads_in_one_statement_and_hides_the_refused_row(
    db: Database,
) -> None:
    limits = RateLimits(limits_table, "secret")
    async with db.statement() as connection:
        await ADD.execute(connection, 1, "public")
    hits = (("read-ip:203.0.113.7", 3, HOUR), ("read-all:x", 10, MINUTE))
    row = await limits.hit_then_fetchrow(db, hits, NOTE, 1, "")  # the read's own $1, $2
    assert row is not None
    assert (row["id"], row["text"]) == (1, "public")
    assert await limits.hit_then_fetchrow(db, hits, NOTE, 2, "") is None  # found nothing
    assert await limits.hit_then_fetchrow(db, hits, NOTE, 1, "public") is None
    with pytest.raises(TooMany) as refused:  # the fourth from the address: no row seen
        await limits.hit_then_fetchrow(db, hits, NOTE, 1, "")
    # The wait is the address's: until its hour's window ends (windows are whole hours of
    # the clock), not the minute's, whatever the minute of the hour the test runs in.
    until_the_hour = 3600 - int(datetime.now(UTC).timestamp()) % 3600
    assert abs(refused.value.retry_after - until_the_hour) <= 2
    await limits.hit_all(db, ("read-all:x", 10, MINUTE))  # the same counters as hit_all's
    async with db.transaction() as session:
        counted = sorted((await session.execute(select(limits_table.c.hits))).scalars())
    assert counted == [4, 5]


async def test_a_counters_write_leaves_its_connection_committing_as_before(
    database_url: str,
) -> None:
    db = Database(database_url, pool_size=2)  # two statement connections, no overflow
    try:
        limits = RateLimits(limits_table, "secret")
        async with db.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        for i in range(4):
            await limits.hit(db, f"a:{i}", 10, MINUTE)
            await limits.hit_then_fetchrow(db, [(f"b:{i}", 10, MINUTE)], NOTE, 1, "")
        async with db.statement() as first, db.statement() as second:
            for connection in (first, second):
                assert await connection.fetchval("SHOW synchronous_commit") == "on"
    finally:
        await db.dispose()


async def test_a_bucket_named_twice_is_a_mistake_of_the_caller(db: Database) -> None:
    limits = RateLimits(limits_table, "secret")
    with pytest.raises(ValueError, match="once"):
        await limits.hit_all(db, ("a:1", 1, HOUR), ("a:1", 1, HOUR))


async def test_a_driver_transaction_commits_together_or_rolls_back_together(db: Database) -> None:
    async def refused_use_case() -> None:
        async with db.driver_transaction() as connection:
            await ADD.execute(connection, 1, "first")
            await ADD.execute(connection, 2, "second")
            assert await COUNT.fetchval(connection) == 2  # sees its own writes
            raise RuntimeError("the use case refuses")

    with pytest.raises(RuntimeError):
        await refused_use_case()
    async with db.statement() as connection:
        assert await COUNT.fetchval(connection) == 0
    async with db.driver_transaction() as connection:
        await ADD.execute(connection, 3, "kept")
        async with db.statement() as other:  # not committed yet: not seen from outside
            assert await COUNT.fetchval(other) == 0
    async with db.transaction() as session:
        assert (await session.execute(select(notes.c.text))).scalars().all() == ["kept"]
    # Its connection went back to the pool outside any transaction: the next use sees
    # only what committed, and a session on it begins afresh.
    async with db.transaction() as session:
        await session.execute(notes.insert().values(id=4, text="after"))
    async with db.statement() as connection:
        assert await COUNT.fetchval(connection) == 2
