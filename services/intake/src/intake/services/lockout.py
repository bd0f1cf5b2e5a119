"""Wrong passwords, counted per ID number and client address, and per ID number from all
addresses together.

Every `login_max_failures`-th wrong password in a row from one address locks that
address out of that ID number, each time twice as long (to a day): whoever guesses from
a few addresses locks only themselves out, never the owner at their own. A much higher
count from all addresses together (a distributed attack) locks the ID number everywhere,
doubling as well; the owner lifts that with a code sent to the verified phone.

Counted for the ID number typed, whether or not it has an account, so that the answers
do not tell; rows are keyed by pseudonyms of the number and of the address.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.tables import login_failures
from intake.services.context import Context
from intake.services.sealing import pseudonym

EVERYWHERE = "*"
_MAX_LOCKOUT = timedelta(days=1)
# Counters idle this long, and not locked, are deleted (one failure in this many sweeps).
_IDLE = timedelta(days=1)
_SWEEP_ONE_IN = 200


def source_of(ctx: Context, address: str) -> str:
    """The stand-in for a client address in the counters."""
    return pseudonym(ctx.settings.secret("jwt_secret"), f"login-source:{address}")


def _rows(subject: str, source: str) -> ColumnElement[bool]:
    return and_(
        login_failures.c.subject == subject, login_failures.c.source.in_((source, EVERYWHERE))
    )


async def serialise(session: AsyncSession, subject: str) -> None:
    """Take the ID number's turn for the rest of the transaction: concurrent guesses are
    counted one after another, with no row needed for a number never tried before."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(subject, 0))))


async def locked_until(
    session: AsyncSession, subject: str, source: str, now: datetime
) -> datetime | None:
    """When the address, or all addresses, may try again; None when they may now."""
    until: datetime | None = await session.scalar(
        select(func.max(login_failures.c.locked_until)).where(
            _rows(subject, source), login_failures.c.locked_until > now
        )
    )
    return until


def _lockout(base_seconds: int, rounds: int) -> timedelta:
    return min(timedelta(seconds=base_seconds * 2 ** min(rounds - 1, 20)), _MAX_LOCKOUT)


async def count_failure(
    ctx: Context, session: AsyncSession, subject: str, source: str, now: datetime
) -> datetime | None:
    """Count a wrong password from the address and in all; the end of the lockout it
    causes, if it causes one."""
    settings = ctx.settings
    ends = []
    for counted, threshold in (
        (source, settings.login_max_failures),
        (EVERYWHERE, settings.login_max_failures_all_addresses),
    ):
        failures = await session.scalar(
            insert(login_failures)
            .values(subject=subject, source=counted, failures=1, updated_at=now)
            .on_conflict_do_update(
                index_elements=[login_failures.c.subject, login_failures.c.source],
                set_={"failures": login_failures.c.failures + 1, "updated_at": now},
            )
            .returning(login_failures.c.failures)
        )
        if failures is not None and failures % threshold == 0:
            until = now + _lockout(settings.lockout_seconds, failures // threshold)
            await session.execute(
                login_failures.update()
                .where(login_failures.c.subject == subject, login_failures.c.source == counted)
                .values(locked_until=until)
            )
            ends.append(until)
    if random.randrange(_SWEEP_ONE_IN) == 0:
        await session.execute(
            delete(login_failures).where(
                login_failures.c.updated_at < now - _IDLE,
                or_(login_failures.c.locked_until.is_(None), login_failures.c.locked_until < now),
            )
        )
    return max(ends, default=None)


async def forget(session: AsyncSession, subject: str, source: str) -> None:
    """Clear the address's count and the count in all: the owner has proved themselves
    (the right password there, or the code sent to the phone)."""
    await session.execute(delete(login_failures).where(_rows(subject, source)))
