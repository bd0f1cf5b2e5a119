"""Writing events: into the outbox table, in the caller's transaction.

The relay publishes the row only if the transaction commits; a rollback takes the event
with it. `NOTIFY` is transactional too, so the relay wakes exactly when there is
something committed to publish.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import Envelope, EventData
from shared.messaging.tables import outbox
from shared.observability.context import current_correlation_id

NOTIFY_CHANNEL = "outbox"


class Outbox:
    """The outbox of one service (`source` is stamped on every event it writes)."""

    def __init__(self, source: str) -> None:
        self.source = source

    async def add(
        self,
        session: AsyncSession,
        data: EventData,
        *,
        dossier_code: str | None = None,
        sequence: int | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        envelope = Envelope.wrap(
            data,
            source=self.source,
            dossier_code=dossier_code,
            sequence=sequence,
            correlation_id=current_correlation_id(),
            occurred_at=occurred_at,
        )
        await session.execute(
            insert(outbox).values(
                event_id=envelope.id,
                event_type=envelope.type,
                dossier_code=dossier_code,
                envelope=envelope.model_dump(mode="json"),
            )
        )
        await session.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))
        return envelope
