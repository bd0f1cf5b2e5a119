"""The sender: takes deliveries that are due, sends them, records what happened.

Deliveries are claimed with `FOR UPDATE SKIP LOCKED` and a lease (so any number of
consume processes share the work, and a crashed one's deliveries come back when its
lease ends), sent outside any transaction with a timeout, a few at a time, then
recorded with their attempt and announced (`notification.sent` / `.failed`) through
the outbox. A transient failure is retried after an exponential back-off with a cap;
a permanent one is `failed` at once; a delivery out of attempts is `dead` until an
operator sends it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from notify.adapters.channels import PermanentSendError, SendError, TransientSendError
from notify.adapters.tables import attempts, deliveries
from notify.services import metrics
from notify.services.context import Context
from shared.contracts import events as ev
from shared.errors import Conflict, NotFound

log = logging.getLogger(__name__)


def backoff(settings: Any, attempt: int) -> timedelta:
    """The wait after the `attempt`-th failure: base × 2^(attempt-1), capped."""
    seconds = settings.retry_base_seconds * 2 ** (attempt - 1)
    return timedelta(seconds=min(seconds, settings.retry_max_seconds))


async def claim(ctx: Context) -> list[Any]:
    now = datetime.now(UTC)
    async with ctx.db.transaction() as session:
        rows = (
            (
                await session.execute(
                    select(deliveries)
                    .where(
                        deliveries.c.status == "pending",
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
    return list(rows)


async def _send(ctx: Context, delivery: Any) -> None:
    if delivery["channel"] == "email":
        await ctx.email.send(delivery["recipient"], delivery["subject"] or "", delivery["body"])
    else:
        await ctx.sms.send(delivery["recipient"], delivery["body"])


async def attempt(ctx: Context, delivery: Any) -> str:
    """Send one delivery once and record the outcome; returns the new status."""
    channel, template = delivery["channel"], delivery["template_key"]
    number = delivery["attempts"] + 1
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
    values: dict[str, Any] = {"attempts": number, "lease_until": None}
    if error is None:
        status, outcome = "sent", "sent"
        values.update(status="sent", sent_at=now, last_error=None)
    else:
        metrics.PROVIDER_ERRORS.labels(channel, type(error).__name__).inc()
        permanent = isinstance(error, PermanentSendError)
        if permanent:
            status, outcome = "failed", "failed"
        elif number >= (delivery["attempt_limit"] or ctx.settings.max_attempts):
            status, outcome = "dead", "dead"
        else:
            status, outcome = "pending", "retried"
            values["next_attempt_at"] = now + backoff(ctx.settings, number)
        values.update(status=status, last_error=str(error)[:500])
    metrics.DELIVERIES.labels(channel, template, outcome).inc()
    async with ctx.db.transaction() as session:
        await session.execute(
            deliveries.update().where(deliveries.c.id == delivery["id"]).values(**values)
        )
        await session.execute(
            attempts.insert().values(
                delivery_id=delivery["id"], attempt=number, at=now, outcome=outcome,
                error=values.get("last_error"), duration_ms=int(elapsed * 1000),
            )
        )  # fmt: skip
        if status in ("sent", "failed", "dead"):
            await ctx.outbox.add(session, _outcome(delivery, status, number, now, error))
    return status


def _outcome(
    delivery: Any, status: str, number: int, now: datetime, error: SendError | None
) -> ev.EventData:
    common = {
        "delivery_id": delivery["id"],
        "source_event_id": delivery["event_id"],
        "channel": ev.Channel(delivery["channel"]),
        "template": delivery["template_key"],
        "template_version": delivery["template_version"],
        "dossier_code": delivery["dossier_code"],
        "attempts": number,
    }
    if status == "sent":
        return ev.NotificationSent(**common, sent_at=now)
    return ev.NotificationFailed(
        **common, permanent=status == "failed", error=type(error).__name__ if error else ""
    )


async def send_due(ctx: Context) -> int:
    """One pass: send what is due, a few at a time; returns how many were handled."""
    batch = await claim(ctx)
    await asyncio.gather(*(attempt(ctx, d) for d in batch))
    return len(batch)


async def refresh_gauges(ctx: Context) -> None:
    async with ctx.db.transaction() as session:
        counts: dict[str, int] = dict(
            (
                await session.execute(
                    select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
                )
            ).all()
        )
    for status in ("pending", "sent", "failed", "dead"):
        metrics.BY_STATUS.labels(status).set(counts.get(status, 0))


async def sender_worker(ctx: Context, stop: asyncio.Event) -> None:
    """The consume process's sending loop."""
    while not stop.is_set():
        try:
            handled = await send_due(ctx)
            await refresh_gauges(ctx)
        except Exception:
            # The database may be away for a moment; the deliveries wait for it.
            log.exception("sender pass failed")
            handled = 0
        if handled < ctx.settings.sender_batch:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=ctx.settings.sender_poll_seconds)


async def resend(ctx: Context, delivery_id: uuid.UUID) -> dict[str, Any]:
    """An operator sends a dead or failed delivery again, with a fresh set of attempts."""
    async with ctx.db.transaction() as session:
        row = (
            (
                await session.execute(
                    select(deliveries).where(deliveries.c.id == delivery_id).with_for_update()
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound("Không có thông báo này.")
        if row["status"] not in ("dead", "failed"):
            raise Conflict("Chỉ gửi lại thông báo đã thất bại.", current_status=row["status"])
        await session.execute(
            deliveries.update()
            .where(deliveries.c.id == delivery_id)
            .values(status="pending", next_attempt_at=datetime.now(UTC), lease_until=None,
                    attempt_limit=row["attempts"] + ctx.settings.max_attempts)
        )  # fmt: skip
    return {"id": delivery_id, "status": "pending"}
