"""The sender: takes deliveries that are due, sends them, records what happened.

Deliveries are claimed with `FOR UPDATE SKIP LOCKED` and a lease (so any number of
consume processes share the work, and a crashed one's deliveries come back when its
lease ends), sent outside any transaction with a timeout, a few at a time, then
recorded with their attempt and announced (`notification.sent` / `.failed`) through
the outbox, a pass's outcomes in one transaction. A transient failure is retried after
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

from sqlalchemy import DateTime, Text, bindparam, func, or_, select

from notify.adapters.channels import Receipt
from notify.adapters.tables import attempts, deliveries
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
from shared.errors import NotFound
from shared.runtime import repeat

log = logging.getLogger(__name__)


async def claim(ctx: Context) -> list[Delivery]:
    """The deliveries due now that no other sender holds, leased to this one."""
    now = datetime.now(UTC)
    async with ctx.db.transaction() as session:
        rows = (
            (
                await session.execute(
                    select(deliveries)
                    .where(
                        deliveries.c.status == DeliveryStatus.PENDING,
                        deliveries.c.next_attempt_at <= now,
                        or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now),
                    )
                    .order_by(deliveries.c.next_attempt_at)
                    .limit(ctx.settings.sender_batch)
                    .with_for_update(skip_locked=True)
                )
            )
            .mappings()
            .all()
        )
        if rows:
            await session.execute(
                deliveries.update()
                .where(deliveries.c.id.in_([r["id"] for r in rows]))
                .values(lease_until=now + timedelta(seconds=ctx.settings.lease_seconds))
            )
    return [_delivery(row) for row in rows]


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row["id"], event_id=row["event_id"], dossier_code=row["dossier_code"],
        channel=ev.Channel(row["channel"]), recipient=row["recipient"],
        template_key=row["template_key"], template_version=row["template_version"],
        subject=row["subject"], body=row["body"], attempts=row["attempts"],
        attempt_limit=row["attempt_limit"],
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


# Built once, the same for every outcome (so a pass's outcomes go in one executemany): the
# sent time and the next attempt are kept as they were when the outcome brings none.
_RECORD = (
    deliveries.update()
    .where(deliveries.c.id == bindparam("b_id"))
    .values(
        attempts=bindparam("b_attempts"), lease_until=None, status=bindparam("b_status"),
        last_error=bindparam("b_error", type_=Text),
        sent_at=func.coalesce(bindparam("b_sent_at", type_=DateTime(timezone=True)),
                              deliveries.c.sent_at),
        next_attempt_at=func.coalesce(bindparam("b_next", type_=DateTime(timezone=True)),
                                      deliveries.c.next_attempt_at),
    )
)  # fmt: skip
_ATTEMPT = attempts.insert()


async def _record(ctx: Context, tried: list[_Tried]) -> None:
    """The outcomes of a pass, their attempts and announcements, in one transaction."""
    if not tried:
        return
    updates, entries = [], []
    for t in tried:
        error = None if t.error is None else str(t.error)[:500]
        retry_at = None if t.verdict.retry_in is None else t.at + t.verdict.retry_in
        updates.append({
            "b_id": t.delivery.id, "b_attempts": t.verdict.attempt, "b_status": t.verdict.status,
            "b_error": error, "b_sent_at": t.at if t.error is None else None, "b_next": retry_at,
        })  # fmt: skip
        entries.append({
            "delivery_id": t.delivery.id, "attempt": t.verdict.attempt, "at": t.at,
            "outcome": t.verdict.outcome, "error": error, "duration_ms": int(t.elapsed * 1000),
        })  # fmt: skip
    async with ctx.db.transaction() as session:
        await session.execute(_RECORD, updates)
        await session.execute(_ATTEMPT, entries)
        for t in tried:
            if t.receipt is not None and t.receipt.keep is not None:
                await t.receipt.keep(session)
            event = announcement(t.delivery, t.verdict, t.at, t.error)
            if event is not None:
                await ctx.outbox.add(session, event)


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
