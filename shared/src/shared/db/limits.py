"""Abuse limits: hits per fixed window, counted in PostgreSQL so that every replica of
the API shares them (where the Ministry's portal shows a captcha, this one counts).

A bucket is named by its caller as `kind:subject`, e.g. `login-ip:203.0.113.7`; the
stored name keeps the kind and replaces the whole name by a keyed digest, so the table
holds no address, ID number or account id in clear, nor one that can be recovered by
hashing every 12-digit number.

Each service keeps the counters in its own database (`rate_limits_table(metadata)`) and
counts with `RateLimits.hit`; a public read that is counted counts and reads in one
statement (`RateLimits.hit_then_fetchrow`).

A counter's write does not wait for its WAL to reach the disk (`synchronous_commit` off
for that statement alone): after a crash of the database server the hits of its last
moments may be lost, which at worst lets a caller a few more attempts in one window, and
every counted request no longer waits for a flush.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import Column, DateTime, Integer, MetaData, PrimaryKeyConstraint, Table, Text

from shared.db.engine import Database
from shared.db.sql import Sql
from shared.errors import TooMany

MINUTE = timedelta(minutes=1)
QUARTER = timedelta(minutes=15)
HOUR = timedelta(hours=1)
# Windows older than this are deleted; no limit may use a longer window.
_KEEP = timedelta(days=1)
# One hit in this many also sweeps old windows: the sweep scans the table, hits must not.
_SWEEP_ONE_IN = 200


# One hit in each bucket, in the order given, answering every bucket's count. The
# set_config is local to the statement's own transaction: its commit does not wait for
# the WAL flush (see above), and nothing else is committed that way.
_COUNT = (
    "INSERT INTO {table} AS r (bucket, window_start, hits)"
    " SELECT bucket, window_start, 1 FROM unnest($1::text[], $2::timestamptz[])"
    " WITH ORDINALITY AS h(bucket, window_start, n),"
    " (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit ORDER BY n"
    " ON CONFLICT (bucket, window_start) DO UPDATE SET hits = r.hits + 1"
    " RETURNING bucket, window_start, hits"
)

# The count, then a read in the same statement: the counts as arrays beside the read's
# columns, on one row with `read_found` null when the read finds nothing. The read's
# parameters follow the count's two.
_COUNT_THEN_READ = (
    "WITH counted AS ({count}), tally AS (SELECT array_agg(bucket) AS limit_buckets,"
    " array_agg(window_start) AS limit_starts, array_agg(hits) AS limit_hits FROM counted)"
    " SELECT tally.*, r.* FROM tally"
    " LEFT JOIN (SELECT true AS read_found, q.* FROM ({read}) AS q) AS r ON true"
)


def rate_limits_table(metadata: MetaData) -> Table:
    return Table(
        "rate_limits",
        metadata,
        Column("bucket", Text, nullable=False),
        Column("window_start", DateTime(timezone=True), nullable=False),
        Column("hits", Integer, nullable=False),
        PrimaryKeyConstraint("bucket", "window_start"),
    )


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, UTC)


def _wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} giây"
    return f"{math.ceil(seconds / 60)} phút"


@dataclass(frozen=True)
class RateLimits:
    """A service's table of counters and the secret its bucket names are digested with."""

    table: Table
    secret: str
    # Written once from the table's name: a request counts with these, nothing built.
    _count: Sql = field(init=False, repr=False)
    _sweep: Sql = field(init=False, repr=False)
    _key: bytes = field(init=False, repr=False)
    # Each read counted in one statement with the hits, written once (hit_then_fetchrow).
    _reads: dict[Sql, Sql] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_key", hashlib.sha256(f"rate-limit:{self.secret}".encode()).digest()
        )
        name = self.table.name
        count = Sql(_COUNT.format(table=name))
        object.__setattr__(self, "_count", count)
        object.__setattr__(self, "_sweep", Sql(f"DELETE FROM {name} WHERE window_start < $1"))  # noqa: S608

    def stored_name(self, bucket: str) -> str:
        """The bucket's kind, then a keyed digest of its whole name."""
        digest = hmac.new(self._key, bucket.encode(), "sha256").hexdigest()[:32]
        return f"{bucket.partition(':')[0]}:{digest}"

    async def hit(self, db: Database, bucket: str, limit: int, window: timedelta) -> None:
        """Count one hit in `bucket`; a 429 problem with Retry-After once over `limit`."""
        await self.hit_all(db, (bucket, limit, window))

    async def hit_all(self, db: Database, *hits: tuple[str, int, timedelta]) -> None:
        """Count one hit in each `(bucket, limit, window)`, all in one statement; a 429
        problem once any is over its limit, with the longest wait among those that are.

        Every bucket is counted, refused or not: a refused request counts as much as a
        served one. The statement is its own transaction, so the row lock of a busy bucket
        is held for that statement only; buckets are counted in the order of their stored
        names, so two requests counting the same buckets never wait for each other in a
        circle."""
        now, rows = self._planned(hits)
        async with db.statement() as connection:
            counted = await self._count.fetch(
                connection, [r[0] for r in rows], [r[1] for r in rows]
            )
            await self._sometimes_sweep(connection, now)
        _refuse_over(now, rows, ((r["bucket"], r["window_start"], r["hits"]) for r in counted))

    async def hit_then_fetchrow(
        self, db: Database, hits: Iterable[tuple[str, int, timedelta]], read: Sql, *args: Any
    ) -> asyncpg.Record | None:
        """`hit_all(*hits)`, then `read`'s first row (or None), in one statement: one round
        trip and one connection for a counted read (a public page), instead of two.

        The read runs whether or not the hits are over their limits (in the same statement
        it cannot wait for their counts), and its row is then dropped for the 429: a
        refused caller is counted and refused as with `hit_all`, and sees nothing read.
        `read` numbers its own parameters from `$1`; the row also holds the counts'
        columns (`limit_*`, `read_found`)."""
        now, rows = self._planned(tuple(hits))
        statement = self._reads.get(read)
        if statement is None:
            shifted = re.sub(r"\$(\d+)", lambda n: f"${int(n[1]) + 2}", read.text)
            statement = Sql(_COUNT_THEN_READ.format(count=self._count.text, read=shifted))
            self._reads[read] = statement
        async with db.statement() as connection:
            row = await statement.fetchrow(
                connection, [r[0] for r in rows], [r[1] for r in rows], *args
            )
            await self._sometimes_sweep(connection, now)
        assert row is not None  # the tally is one row, whatever the read finds
        counted = zip(row["limit_buckets"], row["limit_starts"], row["limit_hits"], strict=True)
        _refuse_over(now, rows, counted)
        return row if row["read_found"] else None

    def _planned(
        self, hits: tuple[tuple[str, int, timedelta], ...]
    ) -> tuple[datetime, list[tuple[str, datetime, timedelta, int]]]:
        """Now, and each hit's stored bucket, window, window length and limit, in the order
        they are counted."""
        for _, _, window in hits:
            if not timedelta(seconds=1) <= window <= _KEEP:
                raise ValueError(f"rate-limit windows are 1 s to {_KEEP}, not {window}")
        now = datetime.now(UTC)
        rows = sorted(
            (self.stored_name(bucket), _window_start(now, window), window, limit)
            for bucket, limit, window in hits
        )
        if len({(r[0], r[1]) for r in rows}) < len(rows):  # one statement counts a row once
            raise ValueError("a bucket is counted once per request")
        return now, rows

    async def _sometimes_sweep(self, connection: asyncpg.Connection, now: datetime) -> None:
        if random.randrange(_SWEEP_ONE_IN) == 0:
            await self._sweep.execute(connection, now - _KEEP)


def _refuse_over(
    now: datetime,
    rows: list[tuple[str, datetime, timedelta, int]],
    counted: Iterable[tuple[str, datetime, int]],
) -> None:
    """The 429 problem, with the longest wait, when any bucket's count is over its limit."""
    hits_of = {(name, start): hits for name, start, hits in counted}
    waits = [
        max(1, math.ceil((start + window - now).total_seconds()))
        for name, start, window, limit in rows
        if hits_of[(name, start)] > limit
    ]
    if waits:
        retry_after = max(waits)
        raise TooMany(
            f"Bạn đã thao tác quá nhiều lần. Vui lòng thử lại sau {_wait_text(retry_after)}.",
            retry_after=retry_after,
        )
