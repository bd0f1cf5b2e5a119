"""The sender: takes deliveries that are due, sends them, records what happened.

Deliveries are claimed with `FOR UPDATE SKIP LOCKED` and a lease (so any number of
consume processes share the work, and a crashed one's deliveries come back when its
lease ends), sent outside any transaction with a timeout, a few at a time, then
recorded with their attempt and announced (`notification.sent` / `.failed`, with the
correlation id of the event that called for the delivery) through the outbox, a pass's
outcomes in one transaction. A transient failure is retried after
an exponential back-off with a cap; a permanent one is `failed` at once; a delivery out
of attempts is `dead` until an operator sends it again (the rules are domain.delivery's).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from notify.adapters.channels import Receipt, keep
from notify.adapters.tables import deliveries
from notify.domain.delivery import (
    Delivery,
    DeliveryStatus,
    SendError,
    TransientSendError,
    Verdict,
    after_attempt,
    announcement,
    resend_limit,
)
from notify.services import metrics
from notify.services.access import Reader, visible
from notify.services.context import Context
from shared.contracts import events as ev
from shared.db.sql import Sql
from shared.errors import NotFound
from shared.runtime import repeat

log = logging.getLogger(__name__)


# Written once: the due deliveries no other sender holds, leased to this one, in one
# statement (its own transaction: the rows it locks are leased when it commits).
_CLAIM = Sql(
    "WITH due AS MATERIALIZED (SELECT id FROM deliveries WHERE status = 'pending'"
    " AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)"
    " ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)"
    " UPDATE deliveries SET lease_until = $2 FROM due WHERE deliveries.id = due.id"
    " RETURNING deliveries.*"
)


async def claim(ctx: Context) -> list[Delivery]:
    """The deliveries due now that no other sender holds, leased to this one."""
    now = datetime.now(UTC)
    lease = now + timedelta(seconds=ctx.settings.lease_seconds)
    async with ctx.db.statement() as connection:
        rows = await _CLAIM.fetch(connection, now, lease, ctx.settings.sender_batch)
    return [_delivery(row) for row in rows]


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row["id"], event_id=row["event_id"], dossier_code=row["dossier_code"],
        channel=ev.Channel(row["channel"]), recipient=row["recipient"],
        template_key=row["template_key"], template_version=row["template_version"],
        subject=row["subject"], body=row["body"], attempts=row["attempts"],
        attempt_limit=row["attempt_limit"], correlation_id=row["correlation_id"],
    )  # fmt: skip


async def _send(ctx: Context, delivery: Delivery) -> Receipt:
    if delivery.channel is ev.Channel.EMAIL:
        return await ctx.email.send(
            delivery.recipient, delivery.subject or "", delivery.body,
            reference=f"delivery-{delivery.id}",
        )  # fmt: skip
    return await ctx.sms.send(delivery.recipient, delivery.body)


@dataclass(frozen=True)
class _Tried:
    """One delivery sent once, before its outcome is recorded."""

    delivery: Delivery
    verdict: Verdict
    error: SendError | None
    at: datetime
    elapsed: float
    receipt: Receipt | None


async def _try(ctx: Context, delivery: Delivery) -> _Tried:
    """Send one delivery once (outside any transaction)."""
    channel, template = delivery.channel, delivery.template_key
    started = time.perf_counter()
    error: SendError | None = None
    receipt: Receipt | None = None
    try:
        receipt = await asyncio.wait_for(
            _send(ctx, delivery), timeout=ctx.settings.send_timeout_seconds
        )
    except SendError as exc:
        error = exc
    except TimeoutError:
        error = TransientSendError("timed out")
    elapsed = time.perf_counter() - started
    metrics.SEND_SECONDS.labels(channel).observe(elapsed)
    verdict = after_attempt(ctx.retry, delivery, error)
    if error is not None:
        metrics.PROVIDER_ERRORS.labels(channel, type(error).__name__).inc()
    metrics.DELIVERIES.labels(channel, template, verdict.outcome).inc()
    return _Tried(delivery, verdict, error, datetime.now(UTC), elapsed, receipt)


# Written once, the same for every outcome (so a pass's outcomes go in one round trip): the
# sent time and the next attempt are kept as they were when the outcome brings none.
_OUTCOME = Sql(
    "UPDATE deliveries SET attempts = $2, lease_until = NULL, status = $3, last_error = $4,"
    " sent_at = coalesce($5, sent_at), next_attempt_at = coalesce($6, next_attempt_at)"
    " WHERE id = $1"
)
_ATTEMPT = Sql(
    "INSERT INTO attempts (delivery_id, attempt, at, outcome, error, duration_ms)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)


async def _record(ctx: Context, tried: list[_Tried]) -> None:
    """The outcomes of a pass, their attempts, what their receipts keep and their
    announcements, in one transaction and one round trip per table."""
    if not tried:
        return
    outcomes, entries, announced = [], [], []
    for t in tried:
        error = None if t.error is None else str(t.error)[:500]
        retry_at = None if t.verdict.retry_in is None else t.at + t.verdict.retry_in
        sent_at = t.at if t.error is None else None
        outcomes.append((t.delivery.id, t.verdict.attempt, t.verdict.status, error, sent_at,
                         retry_at))  # fmt: skip
        entries.append((t.delivery.id, t.verdict.attempt, t.at, t.verdict.outcome, error,
                        int(t.elapsed * 1000)))  # fmt: skip
        event = announcement(t.delivery, t.verdict, t.at, t.error)
        if event is not None:
            announced.append(ctx.outbox.wrap(event, correlation_id=t.delivery.correlation_id))
    async with ctx.db.driver_transaction() as connection:
        await _OUTCOME.executemany(connection, outcomes)
        await _ATTEMPT.executemany(connection, entries)
        await keep(connection, [t.receipt for t in tried if t.receipt is not None])
        await ctx.outbox.add_all(connection, announced)


async def attempt(ctx: Context, delivery: Delivery) -> DeliveryStatus:
    """Send one delivery once and record the outcome; returns the new status."""
    tried = await _try(ctx, delivery)
    await _record(ctx, [tried])
    return tried.verdict.status


async def send_due(ctx: Context) -> int:
    """One pass: send what is due, a few at a time, then record every outcome in one
    transaction; returns how many were handled."""
    batch = await claim(ctx)
    tried = await asyncio.gather(*(_try(ctx, d) for d in batch))
    await _record(ctx, list(tried))
    return len(batch)


async def refresh_gauges(ctx: Context) -> None:
    """The deliveries-by-status gauge as the table stands."""
    async with ctx.db.transaction() as session:
        counts: dict[str, int] = dict(
            (
                await session.execute(
                    select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
                )
            ).all()
        )
    for status in DeliveryStatus:
        metrics.BY_STATUS.labels(status).set(counts.get(status, 0))


GAUGES_SECONDS = 5.0


async def sender_worker(ctx: Context, stop: asyncio.Event) -> None:
    """The consume process's sending loop."""

    counted = -GAUGES_SECONDS

    async def send_pass() -> int:
        nonlocal counted
        handled = await send_due(ctx)
        # Counting every delivery by status is a scan of the table: not after each pass
        # of a few deliveries, but every few seconds.
        if time.monotonic() - counted >= GAUGES_SECONDS:
            await refresh_gauges(ctx)
            counted = time.monotonic()
        return handled

    await repeat(
        stop, send_pass, full=ctx.settings.sender_batch, pause=ctx.settings.sender_poll_seconds,
        what="sender", wake=ctx.deliveries_added,
    )  # fmt: skip


async def resend(ctx: Context, reader: Reader, delivery_id: uuid.UUID) -> dict[str, Any]:
    """An admin sends a dead or failed delivery they may see again, with fresh attempts."""
    async with ctx.db.transaction() as session:
        row = (
            (
                await session.execute(
                    select(deliveries)
                    .where(deliveries.c.id == delivery_id, visible(ctx, reader))
                    .with_for_update(of=deliveries)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound("Không có thông báo này.")
        limit = resend_limit(DeliveryStatus(row["status"]), row["attempts"], ctx.retry)
        await session.execute(
            deliveries.update()
            .where(deliveries.c.id == delivery_id)
            .values(status=DeliveryStatus.PENDING, next_attempt_at=datetime.now(UTC),
                    lease_until=None, attempt_limit=limit)
        )  # fmt: skip
    return {"id": delivery_id, "status": DeliveryStatus.PENDING}
