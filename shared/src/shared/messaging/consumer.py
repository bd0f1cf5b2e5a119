"""The inbox consumer: applies each event once, whatever RabbitMQ redelivers.

For each message: in one transaction, record the event id in the inbox and run the
handler; commit; only then ack. A redelivered or duplicated event finds its id already
recorded and changes nothing. A handler that raises rolls back both; the message is
re-published to the next back-off queue (it returns to the main queue when its TTL
ends) and, after the last step, to the parking queue. The database unavailable is not
the message's failure: the message is tried again every second until it answers, with
no attempt counted. A message that cannot even be
read is parked at once.

Messages are applied in batches: what has been delivered (up to `batch_size`, within the
prefetch) is recorded in the inbox with one statement and applied in one transaction,
then acked with one `multiple` ack after that commit. Under load this spreads a transaction's
cost over the batch; a message that arrives alone waits `linger` (a few milliseconds)
for others, so that a moderate rate makes batches of several too. If anything in a batch fails,
the batch rolls back as a whole and its messages are applied again one by one, each in
its own transaction, so that retries, back-off and parking are per message, and the good
ones are applied once. Batches are applied one at a time per process: two transactions
of one process touching the same counters in different orders could deadlock.

A handler wrapped in `Batched` takes the consecutive events it handles in a batch in one
call, in their order (an event of another handler between them ends the run), so that it
writes each table once per run rather than once per event; one `Batched` may be
registered for several types. A handler of one event at a time takes them one by one.
Either way the whole batch is one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue
from pydantic import ValidationError
from sqlalchemy import Text, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import Envelope, EventData
from shared.db.engine import Database
from shared.db.engine import unavailable as database_unavailable
from shared.messaging.broker import Broker
from shared.observability.context import correlation
from shared.observability.metrics import ServiceMetrics

log = logging.getLogger(__name__)

Apply = Callable[[AsyncSession, Envelope, Any], Awaitable[None]]
"""`apply(session, envelope, data)`: apply one event within the given transaction (a
service's handler with its context bound, see `shared.runtime`)."""

F = TypeVar("F", bound=Callable[..., Awaitable[None]])


@dataclass(frozen=True)
class Batched(Generic[F]):
    """A handler of runs of events: `apply(session, events)` (a service's, with its context
    first: `apply(ctx, session, events)`), `events` a list of `(envelope, data)` of the
    types it is registered for, in delivery order, applied within the given transaction.
    It is the only code for those types: one event alone is a run of one. What it emits
    takes each event's correlation id from its envelope (a run has no single one)."""

    apply: F


Handler = Apply | Batched[Any]


async def nothing(_session: AsyncSession, _envelope: Envelope, _data: Any) -> None:
    """The handler of an event a service receives and needs nothing of: recorded in the
    inbox, applied to nothing, and no end to a run of the events around it."""


ATTEMPT_HEADER = "x-attempt"
# Seconds between two tries of a message while the database is unavailable.
UNAVAILABLE_PAUSE = 1.0

# The event ids of a batch into the inbox, in one statement built once; returns those not
# recorded before (a concurrent delivery of the same id waits on that row's lock until the
# first commits, then inserts nothing: the effect happens once). An id twice in the same
# statement is inserted and returned once.
RECORD = (
    text(
        "INSERT INTO inbox (event_id, event_type, source)"
        " SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[]),"
        " CAST(:sources AS text[]))"
        " ON CONFLICT DO NOTHING RETURNING event_id"
    )
    .bindparams(
        bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
        bindparam("types", type_=ARRAY(Text)),
        bindparam("sources", type_=ARRAY(Text)),
    )
    .columns(event_id=UUID(as_uuid=True))
)


@dataclass(frozen=True)
class _Readable:
    """A delivered message that has a handler and valid data: ready to be applied."""

    message: AbstractIncomingMessage
    envelope: Envelope
    data: EventData
    handler: Handler


class InboxConsumer:
    def __init__(
        self,
        service: str,
        db: Database,
        broker: Broker,
        handlers: Mapping[type[EventData], Handler],
        metrics: ServiceMetrics,
        *,
        prefetch: int = 128,
        batch_size: int = 64,
        linger: float = 0.0,
        parked_gauge_interval: float = 10.0,
    ) -> None:
        self.service = service
        self.db = db
        self.broker = broker
        self.handlers = {model.key(): (model, h) for model, h in handlers.items()}
        self._handled_types = {model.event_type for model in handlers}
        self.metrics = metrics
        self.prefetch = prefetch
        # At most half the prefetch, so the next batch arrives while one is applied.
        self.batch_size = max(1, min(batch_size, prefetch // 2 or 1))
        # Seconds a message that arrives alone waits for others to join its batch.
        self.linger = linger
        self.parked_gauge_interval = parked_gauge_interval
        self.topology = broker.topology
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._gauge_task: asyncio.Task[None] | None = None
        self._delivered: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._applier: asyncio.Task[None] | None = None
        # Held while a batch is applied, so that stopping lets the batch in hand finish.
        self._applying = asyncio.Lock()

    async def start(self) -> None:
        channel = await self.broker.channel(prefetch=self.prefetch)
        self._queue = await channel.declare_queue(self.topology.queue(self.service), passive=True)
        self._applier = asyncio.create_task(self._apply_batches())
        self._consumer_tag = await self._queue.consume(self._deliver)
        self._gauge_task = asyncio.create_task(self._watch_parked())

    async def stop(self) -> None:
        if self._gauge_task is not None:
            self._gauge_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._gauge_task
        if self._queue is not None and self._consumer_tag is not None:
            with contextlib.suppress(Exception):
                await self._queue.cancel(self._consumer_tag)
        if self._applier is not None:
            # Messages delivered but not yet applied stay unacked: the broker redelivers
            # them when the channel closes.
            async with self._applying:
                self._applier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._applier
            self._applier = None

    async def _deliver(self, message: AbstractIncomingMessage) -> None:
        self._delivered.put_nowait(message)

    async def _apply_batches(self) -> None:
        while True:
            batch = [await self._delivered.get()]
            if self.linger and self._delivered.empty():
                # Alone: others arriving meanwhile share its transaction and its ack.
                await asyncio.sleep(self.linger)
            while len(batch) < self.batch_size and not self._delivered.empty():
                batch.append(self._delivered.get_nowait())
            async with self._applying:
                try:
                    await self.on_batch(batch)
                except Exception:
                    # An ack on a channel lost meanwhile, say: the broker redelivers what
                    # was not acked and the inbox makes the copies change nothing.
                    log.exception("batch not acknowledged", extra={"size": len(batch)})

    async def on_batch(self, messages: Sequence[AbstractIncomingMessage]) -> None:
        """Apply delivered messages together (see the module's description)."""
        ready = [r for r in [await self._read(m) for m in messages] if r is not None]
        if len(ready) <= 1:
            for readable in ready:
                await self._apply_alone(readable)
            return
        try:
            applied = await self._apply_together(ready)
        except Exception as exc:
            log.warning(
                "batch failed, applying its messages one by one",
                extra={"size": len(ready), "error": type(exc).__name__},
            )
            for readable in ready:
                await self._apply_alone(readable)
            return
        # One ack for the whole batch, once it has committed: `multiple` acknowledges every
        # delivery on the channel up to the last one applied. Deliveries come and are
        # applied in order, one batch at a time, so everything before it is this batch's
        # or was settled before (acked, retried or parked, each then acked alone).
        await ready[-1].message.ack(multiple=True)
        for readable, first in zip(ready, applied, strict=True):
            self.metrics.consumer_messages.labels(
                readable.envelope.type, "applied" if first else "duplicate"
            ).inc()

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        """Apply one delivered message in its own transaction."""
        readable = await self._read(message)
        if readable is not None:
            await self._apply_alone(readable)

    async def _read(self, message: AbstractIncomingMessage) -> _Readable | None:
        """The message ready to be applied; or None once it has been parked (unreadable,
        an unknown version, a subscribed type without a handler) or acknowledged (of no
        interest)."""
        try:
            envelope = Envelope.model_validate_json(message.body)
        except ValidationError as exc:
            await self._park(message, "unknown", f"unreadable envelope: {exc.error_count()} errors")
            return None
        registered = self.handlers.get(envelope.key)
        if registered is None:
            if envelope.type in self._handled_types:
                # A version this release does not know (yet): the one that does replays it.
                await self._park(message, envelope.type, f"no handler for v{envelope.version}")
                return None
            if envelope.type in self.topology.subscriptions.get(self.service, ()):
                # Subscribed by name yet unhandled: a deployment mistake, never a drop.
                await self._park(message, envelope.type, "no handler for a subscribed type")
                return None
            # Arrived through a wider key (`dossier.#`) and of no interest to this service.
            await message.ack()
            self.metrics.consumer_messages.labels(envelope.type, "ignored").inc()
            return None
        model, handler = registered
        try:
            data = envelope.payload_as(model)
        except ValidationError as exc:
            with correlation(envelope.correlation_id):
                await self._park(
                    message, envelope.type, f"invalid data: {exc.error_count()} errors"
                )
            return None
        return _Readable(message, envelope, data, handler)

    async def _apply_alone(self, readable: _Readable) -> None:
        message, envelope = readable.message, readable.envelope
        with correlation(envelope.correlation_id):
            waited = False
            while True:
                try:
                    async with self.db.transaction() as session:
                        applied = await self._record_and_apply(session, [readable])
                    break
                except Exception as exc:
                    if not database_unavailable(exc):
                        await self._retry_or_park(message, envelope.type, exc)
                        return
                    # The database away (restarted, failing over, saturated) is no fault
                    # of the message: counted as an attempt, the retry steps would park
                    # every message in flight during an outage longer than them. It
                    # stays here unacknowledged (the broker redelivers it if this process
                    # dies) and is applied again once the database answers.
                    if not waited:
                        log.warning(
                            "database unavailable, waiting for it",
                            extra={"event_type": envelope.type, "error": type(exc).__name__},
                        )
                        waited = True
                    await asyncio.sleep(UNAVAILABLE_PAUSE)
            await message.ack()
            self.metrics.consumer_messages.labels(
                envelope.type, "applied" if applied[0] else "duplicate"
            ).inc()

    async def _apply_together(self, ready: Sequence[_Readable]) -> list[bool]:
        async with self.db.transaction() as session:
            return await self._record_and_apply(session, ready)

    async def _record_and_apply(
        self, session: AsyncSession, ready: Sequence[_Readable]
    ) -> list[bool]:
        """Record the events in the inbox and apply those it did not have, in the caller's
        transaction; for each, whether it was applied (False: a duplicate)."""
        envelopes = [r.envelope for r in ready]
        recorded = await session.execute(
            RECORD,
            {
                "ids": [e.id for e in envelopes],
                "types": [e.type for e in envelopes],
                "sources": [e.source for e in envelopes],
            },
        )
        new = set(recorded.scalars())
        applied, fresh = [], []
        for readable in ready:
            first = readable.envelope.id in new
            # A second copy of an event in the same batch applies nothing either.
            new.discard(readable.envelope.id)
            applied.append(first)
            if first and readable.handler is not nothing:
                fresh.append(readable)
        for run in _runs(fresh):
            await self._apply_run(session, run)
        return applied

    async def _apply_run(self, session: AsyncSession, run: Sequence[_Readable]) -> None:
        handler, kind = run[0].handler, run[0].envelope.type
        started = time.perf_counter()
        try:
            if isinstance(handler, Batched):
                await handler.apply(session, [(r.envelope, r.data) for r in run])
            else:
                envelope = run[0].envelope
                with correlation(envelope.correlation_id):
                    await handler(session, envelope, run[0].data)
        finally:
            # Per event: a run's time shared among its events.
            each = (time.perf_counter() - started) / len(run)
            histogram = self.metrics.consumer_handler_duration.labels(kind)
            for _ in run:
                histogram.observe(each)

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


def _runs(fresh: Sequence[_Readable]) -> list[list[_Readable]]:
    """The events to apply in order, in runs: consecutive events of one `Batched` handler
    together, every other event alone."""
    runs: list[list[_Readable]] = []
    for readable in fresh:
        last = runs[-1][-1] if runs else None
        if (
            last is not None
            and isinstance(readable.handler, Batched)
            and readable.handler is last.handler
        ):
            runs[-1].append(readable)
        else:
            runs.append([readable])
    return runs


def _forwarded(message: AbstractIncomingMessage, headers: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "type": message.type,
        "correlation_id": message.correlation_id,
        "app_id": message.app_id,
        "headers": {**(message.headers or {}), **headers},
    }
