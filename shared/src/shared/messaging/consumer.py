"""The inbox consumer: applies each event once, whatever RabbitMQ redelivers.

For each message: in one transaction, record the event id in the inbox and run the
handler; commit; only then ack. A redelivered or duplicated event finds its id already
recorded and changes nothing. A handler that raises rolls back both; the message is
re-published to the next back-off queue (it returns to the main queue when its TTL
ends) and, after the last step, to the parking queue. A message that cannot even be
read is parked at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import Envelope, EventData
from shared.db.engine import Database
from shared.messaging.broker import Broker
from shared.messaging.tables import inbox
from shared.observability.context import correlation
from shared.observability.metrics import ServiceMetrics

log = logging.getLogger(__name__)

Apply = Callable[[AsyncSession, Envelope, Any], Awaitable[None]]
"""`apply(session, envelope, data)`: apply one event within the given transaction (a
service's handler with its context bound, see `shared.runtime`)."""

ATTEMPT_HEADER = "x-attempt"


class InboxConsumer:
    def __init__(
        self,
        service: str,
        db: Database,
        broker: Broker,
        handlers: Mapping[type[EventData], Apply],
        metrics: ServiceMetrics,
        *,
        prefetch: int = 32,
        parked_gauge_interval: float = 10.0,
    ) -> None:
        self.service = service
        self.db = db
        self.broker = broker
        self.handlers = {model.key(): (model, h) for model, h in handlers.items()}
        self._handled_types = {model.event_type for model in handlers}
        self.metrics = metrics
        self.prefetch = prefetch
        self.parked_gauge_interval = parked_gauge_interval
        self.topology = broker.topology
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._gauge_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        channel = await self.broker.channel(prefetch=self.prefetch)
        self._queue = await channel.declare_queue(self.topology.queue(self.service), passive=True)
        self._consumer_tag = await self._queue.consume(self.on_message)
        self._gauge_task = asyncio.create_task(self._watch_parked())

    async def stop(self) -> None:
        if self._gauge_task is not None:
            self._gauge_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._gauge_task
        if self._queue is not None and self._consumer_tag is not None:
            with contextlib.suppress(Exception):
                await self._queue.cancel(self._consumer_tag)

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = Envelope.model_validate_json(message.body)
        except ValidationError as exc:
            await self._park(message, "unknown", f"unreadable envelope: {exc.error_count()} errors")
            return
        registered = self.handlers.get(envelope.key)
        if registered is None:
            if envelope.type in self._handled_types:
                # A version this release does not know (yet): the one that does replays it.
                await self._park(message, envelope.type, f"no handler for v{envelope.version}")
                return
            if envelope.type in self.topology.subscriptions.get(self.service, ()):
                # Subscribed by name yet unhandled: a deployment mistake, never a drop.
                await self._park(message, envelope.type, "no handler for a subscribed type")
                return
            # Arrived through a wider key (`dossier.#`) and of no interest to this service.
            await message.ack()
            self.metrics.consumer_messages.labels(envelope.type, "ignored").inc()
            return
        model, handler = registered
        with correlation(envelope.correlation_id):
            try:
                data = envelope.payload_as(model)
            except ValidationError as exc:
                await self._park(
                    message, envelope.type, f"invalid data: {exc.error_count()} errors"
                )
                return
            started = time.perf_counter()
            try:
                applied = await self._apply(envelope, data, handler)
            except Exception as exc:
                await self._retry_or_park(message, envelope.type, exc)
                return
            finally:
                self.metrics.consumer_handler_duration.labels(envelope.type).observe(
                    time.perf_counter() - started
                )
            await message.ack()
            self.metrics.consumer_messages.labels(
                envelope.type, "applied" if applied else "duplicate"
            ).inc()

    async def _apply(self, envelope: Envelope, data: EventData, handler: Apply) -> bool:
        async with self.db.transaction() as session:
            # A concurrent delivery of the same id waits on this row's lock until the first
            # commits, then inserts nothing: the effect happens once.
            recorded = await session.execute(
                insert(inbox)
                .values(event_id=envelope.id, event_type=envelope.type, source=envelope.source)
                .on_conflict_do_nothing()
                .returning(inbox.c.event_id)
            )
            if recorded.first() is None:
                return False
            await handler(session, envelope, data)
        return True

    async def _retry_or_park(
        self, message: AbstractIncomingMessage, event_type: str, exc: Exception
    ) -> None:
        previous = (message.headers or {}).get(ATTEMPT_HEADER, 0)
        attempt = (previous if isinstance(previous, int) else 0) + 1
        error = f"{type(exc).__name__}: {exc}"[:500]
        delays = self.topology.retry_delays_ms
        if attempt > len(delays):
            await self._park(message, event_type, error, attempt=attempt)
            return
        log.warning(
            "handler failed, retrying later",
            extra={"event_type": event_type, "attempt": attempt, "error": type(exc).__name__},
        )
        await self.broker.send_to_queue(
            self.topology.retry_queue(self.service, delays[attempt - 1]),
            message.body,
            **_forwarded(message, {ATTEMPT_HEADER: attempt, "x-last-error": error}),
        )
        await message.ack()
        self.metrics.consumer_messages.labels(event_type, "retried").inc()

    async def _park(
        self, message: AbstractIncomingMessage, event_type: str, reason: str, *, attempt: int = 0
    ) -> None:
        log.error("message parked", extra={"event_type": event_type, "reason": reason[:200]})
        await self.broker.send_to_queue(
            self.topology.parked_queue(self.service),
            message.body,
            **_forwarded(
                message,
                {
                    ATTEMPT_HEADER: attempt,
                    "x-park-reason": reason,
                    "x-parked-at": datetime.now(UTC).isoformat(),
                },
            ),
        )
        await message.ack()
        self.metrics.consumer_messages.labels(event_type, "parked").inc()
        await self._update_parked_gauge()

    async def _update_parked_gauge(self) -> None:
        channel = await self.broker.channel()
        try:
            queue = await channel.declare_queue(
                self.topology.parked_queue(self.service), passive=True
            )
            self.metrics.parked_messages.set(queue.declaration_result.message_count or 0)
        finally:
            await channel.close()

    async def _watch_parked(self) -> None:
        """Keep the parked gauge true, including messages RabbitMQ parked by itself (a
        quorum queue's count lags a publish a little, so one reading is not enough)."""
        while True:
            with contextlib.suppress(Exception):
                await self._update_parked_gauge()
            await asyncio.sleep(self.parked_gauge_interval)


def _forwarded(message: AbstractIncomingMessage, headers: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "type": message.type,
        "correlation_id": message.correlation_id,
        "app_id": message.app_id,
        "headers": {**(message.headers or {}), **headers},
    }
