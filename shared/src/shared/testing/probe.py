"""A minimal service built from the shared messaging parts, for testing those parts.

It has one state table (`widgets`), one effect table (`effects`, deliberately without a
unique key, so a duplicated effect would show as a second row) and one event type.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import asyncpg
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, Table, Text, func, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import Envelope, EventData
from shared.db import Database, new_metadata
from shared.messaging import Broker, InboxConsumer, Outbox, OutboxRelay, Topology
from shared.messaging.tables import metadata as messaging_metadata
from shared.observability.context import current_correlation_id
from shared.observability.metrics import ServiceMetrics, metrics_for

metadata = new_metadata()
widgets = Table("widgets", metadata, Column("id", Integer, primary_key=True), Column("name", Text))
effects = Table(
    "effects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("label", Text, nullable=False),
)


class ProbeHappened(EventData):
    event_type = "probe.happened"

    label: str


@dataclass
class Probe:
    service: str
    db: Database
    broker: Broker
    outbox: Outbox
    relay: OutboxRelay
    consumer: InboxConsumer
    metrics: ServiceMetrics
    # While True the handler raises; the time of every attempt is recorded.
    broken: bool = False
    attempts: list[float] = field(default_factory=list)
    # The correlation id in force while each event was handled.
    correlations: list[str | None] = field(default_factory=list)
    # Labels whose handler always raises (a poison message among good ones).
    poison: set[str] = field(default_factory=set)
    # While set and not yet released, the handler of the label "gate" waits for it, so
    # the messages delivered meanwhile are applied together afterwards.
    gate: asyncio.Event | None = None
    # Every attempt's label and database transaction id, in order.
    transactions: list[tuple[str, int]] = field(default_factory=list)
    # This many attempts more fail as PostgreSQL starting up refuses a connection.
    database_away_for: int = 0

    async def emit(self, session: AsyncSession, label: str) -> Envelope:
        return await self.outbox.add(session, ProbeHappened(label=label))

    async def effect_count(self) -> int:
        async with self.db.transaction() as session:
            return int(
                (await session.execute(select(func.count()).select_from(effects))).scalar_one()
            )

    async def effects_by_event(self) -> dict[uuid.UUID, int]:
        async with self.db.transaction() as session:
            rows = await session.execute(
                select(effects.c.event_id, func.count()).group_by(effects.c.event_id)
            )
            return dict(rows.all())

    def outcome(self, outcome: str) -> float:
        value = REGISTRY.get_sample_value(
            f"{self.service}_consumer_messages_total",
            {"event_type": ProbeHappened.event_type, "outcome": outcome},
        )
        return value or 0.0

    async def close(self) -> None:
        await self.consumer.stop()
        await self.broker.close()
        await self.db.dispose()


def topology_for(service: str, namespace: str, retry_delays_ms: tuple[int, ...]) -> Topology:
    return Topology(
        namespace=namespace,
        retry_delays_ms=retry_delays_ms,
        delivery_limit=5,
        subscriptions={service: ("probe.#",)},
    )


async def build_probe(
    database_url: str,
    amqp_url: str,
    namespace: str,
    *,
    retry_delays_ms: tuple[int, ...] = (100, 200, 400),
    create_tables: bool = True,
) -> Probe:
    service = f"p{namespace}"
    db = Database(database_url)
    if create_tables:
        async with db.engine.begin() as conn:
            await conn.run_sync(messaging_metadata.create_all)
            await conn.run_sync(metadata.create_all)
    broker = Broker(amqp_url, topology_for(service, namespace, retry_delays_ms), name=service)
    await broker.connect()
    metrics = metrics_for(service)
    probe_ref: list[Probe] = []

    async def record(session: AsyncSession, envelope: Envelope, data: ProbeHappened) -> None:
        probe = probe_ref[0]
        probe.attempts.append(time.monotonic())
        probe.correlations.append(current_correlation_id())
        if data.label == "gate" and probe.gate is not None:
            await probe.gate.wait()
        transaction = await session.scalar(select(func.txid_current()))
        probe.transactions.append((data.label, int(transaction or 0)))
        await session.execute(effects.insert().values(event_id=envelope.id, label=data.label))
        if probe.broken or data.label in probe.poison:
            raise RuntimeError("the handler is broken on purpose")
        if probe.database_away_for > 0:
            probe.database_away_for -= 1
            raise asyncpg.CannotConnectNowError("the database system is starting up")

    consumer = InboxConsumer(
        service, db, broker, {ProbeHappened: record}, metrics, parked_gauge_interval=0.2
    )
    relay = OutboxRelay(db, broker, metrics, poll_interval=0.5)
    probe = Probe(service, db, broker, Outbox(service), relay, consumer, metrics)
    probe_ref.append(probe)
    return probe
