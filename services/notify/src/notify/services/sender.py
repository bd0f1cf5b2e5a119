"""The sender: takes deliveries that are due, sends them, records what happened.

Deliveries are claimed with `FOR UPDATE SKIP LOCKED` and a lease (so any number of
consume processes share the work, and a crashed one's deliveries come back when its
lease ends), sent outside any transaction with a timeout, a few at a time, then
recorded with their attempt and announced (`notification.sent` / `.failed`) through
the outbox. A transient failure is retried after an exponential back-off with a cap;
a permanent one is `failed` at once; a delivery out of attempts is `dead` until an
operator sends it again (the rules are domain.delivery's).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from notify.adapters.tables import attempts, deliveries
from notify.domain.delivery import (
    Delivery,
    DeliveryStatus,
    SendError,
    TransientSendError,
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


async def _send(ctx: Context, delivery: Delivery) -> None:
    if delivery.channel is ev.Channel.EMAIL:
        await ctx.email.send(
            delivery.recipient, delivery.subject or "", delivery.body,
            reference=f"delivery-{delivery.id}",
        )  # fmt: skip
    else:
        await ctx.sms.send(delivery.recipient, delivery.body)


async def attempt(ctx: Context, delivery: Delivery) -> DeliveryStatus:
    """Send one delivery once and record the outcome; returns the new status."""
    channel, template = delivery.channel, delivery.template_key
    started = time.perf_counter()
    error: SendError | None = None
    try:
        await asyncio.wait_for(_send(ctx, delivery), timeout=ctx.settings.send_timeout_seconds)
    except SendError as exc:
        error = exc
    except TimeoutError:
        error = TransientSendError("timed out")
    elapsed = time.perf_counter() - started
    metrics.SEND_SECONDS.labels(channel).observe(elapsed)
    now = datetime.now(UTC)
    verdict = after_attempt(ctx.retry, delivery, error)
    values: dict[str, Any] = {
        "attempts": verdict.attempt, "lease_until": None, "status": verdict.status,
        "last_error": None if error is None else str(error)[:500],
    }  # fmt: skip
    if error is None:
        values["sent_at"] = now
    else:
        metrics.PROVIDER_ERRORS.labels(channel, type(error).__name__).inc()
    if verdict.retry_in is not None:
        values["next_attempt_at"] = now + verdict.retry_in
    metrics.DELIVERIES.labels(channel, template, verdict.outcome).inc()
    async with ctx.db.transaction() as session:
        await session.execute(
            deliveries.update().where(deliveries.c.id == delivery.id).values(**values)
        )
        await session.execute(
            attempts.insert().values(
                delivery_id=delivery.id, attempt=verdict.attempt, at=now, outcome=verdict.outcome,
                error=values["last_error"], duration_ms=int(elapsed * 1000),
            )
        )  # fmt: skip
        event = announcement(delivery, verdict, now, error)
        if event is not None:
            await ctx.outbox.add(session, event)
    return verdict.status


async def send_due(ctx: Context) -> int:
    """One pass: send what is due, a few at a time; returns how many were handled."""
    batch = await claim(ctx)
    await asyncio.gather(*(attempt(ctx, d) for d in batch))
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


async def sender_worker(ctx: Context, stop: asyncio.Event) -> None:
    """The consume process's sending loop."""

    async def send_pass() -> int:
        handled = await send_due(ctx)
        await refresh_gauges(ctx)
        return handled

    await repeat(
        stop, send_pass, full=ctx.settings.sender_batch, pause=ctx.settings.sender_poll_seconds,
        what="sender",
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
