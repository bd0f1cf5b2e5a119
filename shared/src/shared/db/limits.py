"""Abuse limits: hits per fixed window, counted in PostgreSQL so that every replica of
the API shares them (where the Ministry's portal shows a captcha, this one counts).

A bucket is named by its caller as `kind:subject`, e.g. `login-ip:203.0.113.7`; the
stored name keeps the kind and replaces the whole name by a keyed digest, so the table
holds no address, ID number or account id in clear, nor one that can be recovered by
hashing every 12-digit number.

Each service keeps the counters in its own database (`rate_limits_table(metadata)`) and
counts with `RateLimits.hit`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, Integer, MetaData, PrimaryKeyConstraint, Table, Text
from sqlalchemy.dialects.postgresql import insert

from shared.db.engine import Database
from shared.errors import TooMany

MINUTE = timedelta(minutes=1)
QUARTER = timedelta(minutes=15)
HOUR = timedelta(hours=1)
# Windows older than this are deleted; no limit may use a longer window.
_KEEP = timedelta(days=1)
# One hit in this many also sweeps old windows: the sweep scans the table, hits must not.
_SWEEP_ONE_IN = 200


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

    def stored_name(self, bucket: str) -> str:
        """The bucket's kind, then a keyed digest of its whole name."""
        key = hashlib.sha256(f"rate-limit:{self.secret}".encode()).digest()
        digest = hmac.new(key, bucket.encode(), "sha256").hexdigest()[:32]
        return f"{bucket.partition(':')[0]}:{digest}"

    async def hit(self, db: Database, bucket: str, limit: int, window: timedelta) -> None:
        """Count one hit in `bucket`; a 429 problem with Retry-After once over `limit`."""
        if not timedelta(seconds=1) <= window <= _KEEP:
            raise ValueError(f"rate-limit windows are 1 s to {_KEEP}, not {window}")
        table = self.table
        now = datetime.now(UTC)
        start = _window_start(now, window)
        # Its own short transaction: a refused request counts as much as a served one, and
        # the row lock of a busy bucket is held for one statement only.
        async with db.transaction() as session:
            hits = await session.scalar(
                insert(table)
                .values(bucket=self.stored_name(bucket), window_start=start, hits=1)
                .on_conflict_do_update(
                    index_elements=[table.c.bucket, table.c.window_start],
                    set_={"hits": table.c.hits + 1},
                )
                .returning(table.c.hits)
            )
            if random.randrange(_SWEEP_ONE_IN) == 0:
                await session.execute(table.delete().where(table.c.window_start < now - _KEEP))
        if hits is not None and hits > limit:
            retry_after = max(1, math.ceil((start + window - now).total_seconds()))
            raise TooMany(
                f"Bạn đã thao tác quá nhiều lần. Vui lòng thử lại sau {_wait_text(retry_after)}.",
                retry_after=retry_after,
            )
