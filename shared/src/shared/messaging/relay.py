"""The outbox relay: publishes committed outbox rows, then marks them published.

Each round locks a batch of unpublished rows with `FOR UPDATE SKIP LOCKED` (so several
relays share the work without publishing a row twice at the same time) and marks them
in the same statement, publishes every row with a broker confirm and `mandatory`, and
unmarks those not confirmed before the transaction commits. A crash between confirm and
commit publishes the row again on the next round: delivery is at least once, and
consumers' inboxes make it once in effect.

The relay sleeps until PostgreSQL NOTIFYs a commit, with a short poll as a safety net
for a notification lost while the listening connection was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Sequence
from datetime import timedelta
from typing import Any

import asyncpg
from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url

from shared.db.engine import Database
from shared.db.sql import Runner, Sql
from shared.messaging.broker import Broker
from shared.messaging.outbox import NOTIFY_CHANNEL
from shared.messaging.tables import outbox
from shared.observability.metrics import ServiceMetrics

log = logging.getLogger(__name__)

# The statements of every round, written once (shared/db/sql.py). A batch is claimed and
# marked published in one statement, inside the round's transaction: a row whose publish
# is not confirmed is unmarked again before the commit, and a crash before the commit
# rolls every mark back, so a row is marked published once committed only if confirmed.
# The envelope is sent as the text PostgreSQL keeps (jsonb's own rendering: valid JSON,
# the same for every copy), not decoded into a dict and encoded again per row.
_CLAIM = Sql(
    "UPDATE outbox SET published_at = now() WHERE id IN (SELECT id FROM outbox"
    " WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)"
    " RETURNING id, event_type, envelope::text AS envelope, envelope->>'id' AS event_id,"
    " envelope->>'correlation_id' AS correlation_id, envelope->>'source' AS source"
)
_FAILED = Sql(
    "UPDATE outbox SET published_at = NULL, attempts = attempts + 1, last_error = $2 WHERE id = $1"
)


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        broker: Broker,
        metrics: ServiceMetrics,
        *,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        retention: timedelta = timedelta(days=7),
        linger: float = 0.0,
    ) -> None:
        self.db = db
        self.broker = broker
        self.metrics = metrics
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.retention = retention
        # Seconds a round waits, once woken, for other commits to join it.
        self.linger = linger
        self._wake = asyncio.Event()
        self._last_gauges = 0.0
        self._last_purge = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set."""
        listener = asyncio.create_task(self._listen(stop))
        try:
            while not stop.is_set():
                published = 0
                try:
                    published = await self.publish_pending()
                    await self._housekeeping()
                except Exception:  # the database or broker is away: retry after a pause
                    log.exception("outbox relay round failed")
                    self.metrics.outbox_publish_failures.labels("round").inc()
                if published < self.batch_size:
                    await self._sleep(stop)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def publish_pending(self) -> int:
        """One round: publish up to a batch of pending rows; returns how many succeeded."""
        # On a driver transaction: a round is three round trips (BEGIN, the batch claimed
        # and marked, COMMIT) and nothing around them; a fourth when a publish failed.
        async with self.db.driver_transaction() as connection:
            claimed = await _CLAIM.fetch(connection, self.batch_size)
            if not claimed:
                return 0
            # RETURNING gives no order: published in the order they were written.
            rows = sorted(claimed, key=lambda row: row["id"])
            # Confirms are awaited together: one round trip's latency per batch, not per row.
            outcomes = await asyncio.gather(
                *(self._publish(row) for row in rows), return_exceptions=True
            )
            settled = list(zip(rows, outcomes, strict=True))
            done = [row["id"] for row, outcome in settled if outcome is None]
            failed = [
                (row["id"], error) for row, error in settled if isinstance(error, BaseException)
            ]
            await self._settle(connection, failed)
        return len(done)

    async def _publish(self, row: asyncpg.Record) -> None:
        await self.broker.publish_event(
            row["envelope"].encode(),
            row["event_type"],
            message_id=row["event_id"],
            type=row["event_type"],
            correlation_id=row["correlation_id"],
            app_id=row["source"],
        )
        self.metrics.outbox_published.labels(row["event_type"]).inc()

    async def _settle(
        self, connection: Runner, failed: Sequence[tuple[int, BaseException]]
    ) -> None:
        """Before the round commits: the rows not confirmed unmarked, kept for the next
        round with their error (the confirmed ones stay marked by their claim)."""
        for _, error in failed:
            self.metrics.outbox_publish_failures.labels(type(error).__name__).inc()
        if failed:
            await _FAILED.executemany(
                connection, [(row_id, repr(error)[:500]) for row_id, error in failed]
            )
            log.warning(
                "outbox rows not confirmed, kept for the next round",
                extra={"failed": len(failed), "error": type(failed[0][1]).__name__},
            )

    async def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._last_gauges >= 5:
            self._last_gauges = now
            async with self.db.transaction() as session:
                count, oldest = (
                    await session.execute(
                        select(
                            func.count(),
                            func.extract("epoch", func.now() - func.min(outbox.c.created_at)),
                        ).where(outbox.c.published_at.is_(None))
                    )
                ).one()
            self.metrics.outbox_backlog.set(count)
            self.metrics.outbox_oldest_pending_age.set(float(oldest or 0))
        if now - self._last_purge >= 600:
            self._last_purge = now
            async with self.db.transaction() as session:
                await session.execute(
                    delete(outbox).where(outbox.c.published_at < func.now() - self.retention)
                )

    async def _sleep(self, stop: asyncio.Event) -> None:
        await _first(stop.wait(), self._wake.wait(), limit=self.poll_interval)
        if self.linger and not stop.is_set():
            # Commits of the next few milliseconds go in the same round: one transaction
            # and one wait for confirms for all of them instead of one each.
            await _first(stop.wait(), asyncio.sleep(self.linger))
        self._wake.clear()

    async def _listen(self, stop: asyncio.Event) -> None:
        """Keep a LISTEN connection open, re-opening it whenever it drops."""
        dsn = make_url(self.db.url).set(drivername="postgresql").render_as_string(False)
        while not stop.is_set():
            conn = None
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(dsn)
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
                self._wake.set()  # commits made while we were not listening
                await _first(lost.wait(), stop.wait())
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("outbox listener reconnecting", extra={"error": type(exc).__name__})
                await _first(stop.wait(), asyncio.sleep(self.poll_interval))
            finally:
                if conn is not None and not conn.is_closed():
                    await conn.close()


async def _first(*aws: Coroutine[Any, Any, Any], limit: float | None = None) -> None:
    """Wait until the first of `aws` completes (or `limit` seconds), cancelling the rest."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
