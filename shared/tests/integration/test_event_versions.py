"""Two versions of one event type travel side by side: a consumer applies each version
with its own handler, and parks (never drops) a version it has no handler for."""

from __future__ import annotations

from typing import ClassVar

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import Envelope, EventData
from shared.messaging import InboxConsumer
from shared.testing.infra import eventually
from shared.testing.probe import Probe, ProbeHappened, effects

pytestmark = pytest.mark.integration


class ProbeHappenedV2(EventData):
    """The probe's event as its next version: the label and where it happened."""

    event_type: ClassVar[str] = ProbeHappened.event_type
    version: ClassVar[int] = 2

    label: str
    where: str


async def publish(probe: Probe, data: EventData) -> Envelope:
    envelope = Envelope.wrap(data, source="elsewhere")
    await probe.broker.publish_event(
        envelope.model_dump_json().encode(), envelope.type,
        message_id=str(envelope.id), type=envelope.type, app_id=envelope.source,
    )  # fmt: skip
    return envelope


async def labels(probe: Probe) -> list[str]:
    async with probe.db.transaction() as session:
        rows = await session.execute(effects.select().order_by(effects.c.label))
        return [row.label for row in rows]


async def test_a_version_without_a_handler_is_parked_and_the_known_one_applied(
    probe: Probe,
) -> None:
    await probe.consumer.start()
    await publish(probe, ProbeHappenedV2(label="v2", where="Bắc Kạn"))
    await publish(probe, ProbeHappened(label="v1"))

    async def settled() -> bool:
        return probe.outcome("applied") == 1 and probe.outcome("parked") == 1

    await eventually(settled, what="v1 applied and v2 parked")
    assert await labels(probe) == ["v1"]


async def test_each_version_is_applied_by_its_own_handler(probe: Probe) -> None:
    async def record_v2(session: AsyncSession, envelope: Envelope, data: ProbeHappenedV2) -> None:
        await session.execute(
            effects.insert().values(event_id=envelope.id, label=f"{data.label}@{data.where}")
        )

    v1_handler = probe.consumer.handlers[ProbeHappened.key()][1]
    both = InboxConsumer(
        probe.service, probe.db, probe.broker,
        {ProbeHappened: v1_handler, ProbeHappenedV2: record_v2}, probe.metrics,
    )  # fmt: skip
    await both.start()
    try:
        await publish(probe, ProbeHappened(label="v1"))
        await publish(probe, ProbeHappenedV2(label="v2", where="Sóc Trăng"))

        async def settled() -> bool:
            return probe.outcome("applied") == 2

        await eventually(settled, what="both versions applied")
    finally:
        await both.stop()
    assert await labels(probe) == ["v1", "v2@Sóc Trăng"]
    assert probe.outcome("parked") == 0
