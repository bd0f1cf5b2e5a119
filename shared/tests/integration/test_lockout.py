"""The sign-in lockout common to citizens and officers, on the real PostgreSQL: per account
and address with back-off, a far higher ceiling from all addresses, counted before the
check so that concurrent guesses cannot slip past it, and lifted by `forget`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from shared.db import new_metadata
from shared.db.engine import Database
from shared.db.lockout import Attempt, SignInLockout, lockout_duration, login_failures_table
from shared.errors import Locked

pytestmark = pytest.mark.integration

metadata = new_metadata()
table = login_failures_table(metadata)
ACCOUNT, HERE, THERE = "001099012345", "203.0.113.7", "198.51.100.20"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database
    await database.dispose()


def lockout(**rules: int) -> SignInLockout:
    values = {"max_failures": 3, "max_failures_all_addresses": 6, "lockout_seconds": 120}
    return SignInLockout(table, "test-secret", **(values | rules))


async def wrong(db: Database, rules: SignInLockout, address: str = HERE) -> Attempt | Locked:
    """One wrong password: the attempt counted, or the lock that refused it."""
    try:
        async with db.transaction() as session:
            return await rules.attempt(session, ACCOUNT, address)
    except Locked as locked:
        return locked


def outcome(result: Attempt | Locked) -> str:
    if isinstance(result, Locked):
        return "refused"
    return "locks" if result.refusal() is not None else "counted"


async def expire(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(update(table).values(locked_until=func.now() - timedelta(seconds=1)))


def test_each_lock_lasts_twice_as_long_to_a_day() -> None:
    assert [lockout_duration(120, n).total_seconds() for n in (1, 2, 3)] == [120, 240, 480]
    assert lockout_duration(120, 40) == timedelta(days=1)


async def test_an_address_is_locked_out_for_longer_each_time_and_others_are_not(
    db: Database,
) -> None:
    rules = lockout(max_failures_all_addresses=100)
    first = [outcome(await wrong(db, rules)) for _ in range(4)]
    assert first == ["counted", "counted", "locks", "refused"]
    locks = await wrong(db, rules, HERE)
    assert isinstance(locks, Locked)
    assert 110 <= locks.retry_after <= 120
    # The owner at another address is not locked out.
    assert outcome(await wrong(db, rules, THERE)) == "counted"

    await expire(db)
    again = [await wrong(db, rules) for _ in range(3)]
    assert [outcome(a) for a in again] == ["counted", "counted", "locks"]
    last = again[-1]
    assert isinstance(last, Attempt)
    assert last.locks_until is not None
    assert timedelta(seconds=230) <= last.locks_until - last.at <= timedelta(seconds=240)


async def test_the_ceiling_from_all_addresses_locks_everywhere_until_forgotten(
    db: Database,
) -> None:
    rules = lockout()
    results = [outcome(await wrong(db, rules, f"192.0.2.{n}")) for n in range(6)]
    assert results == ["counted"] * 5 + ["locks"]
    assert outcome(await wrong(db, rules, "192.0.2.200")) == "refused"

    # The owner proves themselves (a code to the phone): the ceiling is lifted for them.
    async with db.transaction() as session:
        await rules.forget(session, ACCOUNT, THERE)
    assert outcome(await wrong(db, rules, THERE)) == "counted"


async def test_a_right_password_forgets_the_address_and_the_count_in_all(db: Database) -> None:
    rules = lockout()
    for _ in range(2):
        await wrong(db, rules)
    async with db.transaction() as session:
        right = await rules.attempt(session, ACCOUNT, HERE)
        await rules.succeeded(session, right)
    async with db.transaction() as session:
        remaining = await session.scalar(select(func.count()).select_from(table))
    assert remaining == 0


async def test_concurrent_guesses_are_all_counted_and_only_the_allowed_few_checked(
    db: Database,
) -> None:
    rules = lockout(max_failures=5, max_failures_all_addresses=1000)
    results = await asyncio.gather(*(wrong(db, rules) for _ in range(40)))
    outcomes = [outcome(r) for r in results]
    # Five counted (the fifth locks); every other one is refused before any check.
    assert outcomes.count("counted") == 4
    assert outcomes.count("locks") == 1
    assert outcomes.count("refused") == 35


async def test_names_and_addresses_are_stored_as_digests(db: Database) -> None:
    rules = lockout()
    await wrong(db, rules)
    async with db.transaction() as session:
        stored = (await session.execute(select(table.c.subject, table.c.source))).all()
    assert stored
    for subject, source in stored:
        assert ACCOUNT not in subject
        assert HERE not in source
