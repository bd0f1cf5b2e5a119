"""Sign-in lockout after wrong passwords, the same for citizens and officers.

Wrong passwords are counted per account name and client address, and per account name
from all addresses together. Every `max_failures`-th failure in a row from one address
locks that address out of that account, each time twice as long (to a day): whoever
guesses from a few addresses locks only themselves out, never the owner at their own. A
far higher count from all addresses together (a distributed attack) locks the account
everywhere, doubling as well; the owner lifts that with a code sent to the verified phone
(citizens) or an administrator's password reset (officers), both calling `forget`.

An attempt is counted *before* the password is checked (`attempt`) and forgotten when it
was right (`succeeded`): the slow hash then runs outside any transaction, and however
many guesses arrive at once, each is counted under the rows' locks and no more than
`max_failures` of them are checked before the lock. A locked pair counts nothing more
and is refused even with the right password: guessing must stop.

Counted for the name typed, whether or not it has an account, so that the answers do not
tell; rows are keyed by keyed digests of the name and of the address, never in clear.
A day without a wrong password forgets the earlier ones (and so the doubling).

Each service keeps the counters in its own database (`login_failures_table(metadata)`).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Column,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    and_,
    case,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Locked

# The `source` of the count from all addresses together.
EVERYWHERE = "*"
MAX_LOCKOUT = timedelta(days=1)
# A day without a wrong password forgets the earlier ones.
FORGET_AFTER = timedelta(days=1)
# One attempt in this many also deletes forgotten, unlocked rows: the sweep scans the table.
_SWEEP_ONE_IN = 200


def login_failures_table(metadata: MetaData) -> Table:
    return Table(
        "login_failures",
        metadata,
        # Keyed digests of the account name typed and of the client's address ('*': all).
        Column("subject", Text, nullable=False),
        Column("source", Text, nullable=False),
        Column("failures", Integer, nullable=False),
        Column("locked_until", DateTime(timezone=True)),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("subject", "source"),
        Index("ix_login_failures_updated", "updated_at"),
    )


def lockout_duration(base_seconds: int, rounds: int) -> timedelta:
    """The `rounds`-th lock lasts `base_seconds` doubled `rounds - 1` times, to a day."""
    return min(timedelta(seconds=base_seconds * 2 ** min(max(rounds, 1) - 1, 20)), MAX_LOCKOUT)


def locked_problem(until: datetime, now: datetime) -> Locked:
    retry_after = max(1, math.ceil((until - now).total_seconds()))
    return Locked(
        "Tài khoản tạm thời bị khóa do nhập sai mật khẩu nhiều lần. "
        f"Vui lòng thử lại sau {math.ceil(retry_after / 60)} phút.",
        title="Tài khoản tạm thời bị khóa",
        type_="urn:dvc:account-locked",
        retry_after=retry_after,
    )


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt, already counted as a failure."""

    subject: str
    source: str
    at: datetime
    # The end of the lock this attempt causes if its password is wrong; None: none.
    locks_until: datetime | None

    def refusal(self) -> Locked | None:
        """The 423 to answer when the password was wrong and this attempt locked."""
        return None if self.locks_until is None else locked_problem(self.locks_until, self.at)


@dataclass(frozen=True)
class SignInLockout:
    """A service's table of failures, the secret names are digested with, and its rules."""

    table: Table
    secret: str
    max_failures: int
    max_failures_all_addresses: int
    lockout_seconds: int

    def _digest(self, purpose: str, value: str) -> str:
        key = hashlib.sha256(f"{purpose}:{self.secret}".encode()).digest()
        return hmac.new(key, value.encode(), "sha256").hexdigest()[:32]

    def subject_of(self, account: str) -> str:
        return self._digest("login-subject", account)

    def source_of(self, address: str) -> str:
        return self._digest("login-source", address)

    async def attempt(self, session: AsyncSession, account: str, address: str) -> Attempt:
        """Count an attempt at `account` from `address` as a failure, before its password
        is checked; `Locked` (nothing counted) while the address or all are locked out.
        The caller commits the count whatever the password turns out to be."""
        subject, source = self.subject_of(account), self.source_of(address)
        now = datetime.now(UTC)
        ends = []
        # Always the address's row first, then all addresses': concurrent attempts take
        # the row locks in one order.
        for counted, threshold in (
            (source, self.max_failures),
            (EVERYWHERE, self.max_failures_all_addresses),
        ):
            failures = await self._count(session, subject, counted, now)
            if failures is None:
                until = await session.scalar(
                    select(self.table.c.locked_until).where(self._row(subject, counted))
                )
                raise locked_problem(until or now, now)
            if failures % threshold == 0:
                until = now + lockout_duration(self.lockout_seconds, failures // threshold)
                await session.execute(
                    self.table.update()
                    .where(self._row(subject, counted))
                    .values(locked_until=until)
                )
                ends.append(until)
        if random.randrange(_SWEEP_ONE_IN) == 0:
            await session.execute(
                self.table.delete().where(
                    self.table.c.updated_at < now - FORGET_AFTER,
                    or_(self.table.c.locked_until.is_(None), self.table.c.locked_until < now),
                )
            )
        return Attempt(subject, source, now, max(ends, default=None))

    async def succeeded(self, session: AsyncSession, attempt: Attempt) -> None:
        """The password was right: forget the address's count and the count in all."""
        await session.execute(
            self.table.delete().where(self._pair(attempt.subject, attempt.source))
        )

    async def forget(self, session: AsyncSession, account: str, address: str | None) -> None:
        """The owner has proved themselves otherwise (a code sent to the phone, an
        administrator's reset): lift the lock of all addresses together and that of
        `address` (every address when None)."""
        subject = self.subject_of(account)
        where = (
            self.table.c.subject == subject
            if address is None
            else self._pair(subject, self.source_of(address))
        )
        await session.execute(self.table.delete().where(where))

    def _row(self, subject: str, source: str) -> ColumnElement[bool]:
        return and_(self.table.c.subject == subject, self.table.c.source == source)

    def _pair(self, subject: str, source: str) -> ColumnElement[bool]:
        return and_(self.table.c.subject == subject, self.table.c.source.in_((source, EVERYWHERE)))

    async def _count(
        self, session: AsyncSession, subject: str, source: str, now: datetime
    ) -> int | None:
        """One more failure in the row (one again after a quiet day); None when it is
        locked, which counts nothing."""
        table = self.table
        failures: int | None = await session.scalar(
            insert(table)
            .values(subject=subject, source=source, failures=1, updated_at=now)
            .on_conflict_do_update(
                index_elements=[table.c.subject, table.c.source],
                set_={
                    "failures": case(
                        (table.c.updated_at < now - FORGET_AFTER, 1), else_=table.c.failures + 1
                    ),
                    "locked_until": None,
                    "updated_at": now,
                },
                where=or_(table.c.locked_until.is_(None), table.c.locked_until <= now),
            )
            .returning(table.c.failures)
        )
        return failures
